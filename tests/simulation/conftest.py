"""Fixtures of the simulator tests; their measurements are in ``tests.simulation.measure``."""

from __future__ import annotations

import pytest

from appliance.quality.models import ModelStore


@pytest.fixture(scope="session")
def store() -> ModelStore:
    return ModelStore()
