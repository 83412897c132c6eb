"""Fixtures of the quality tests: the real models (fetched by `make setup`), one checker per session."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.quality.checker import PhotoChecker
from appliance.quality.models import ModelStore
from appliance.quality.settings import QualitySettings
from appliance.simulation.scene import render_scene

SIZE = (960, 1280)


@pytest.fixture(scope="session")
def settings() -> QualitySettings:
    return QualitySettings()


@pytest.fixture(scope="session")
def store(settings: QualitySettings) -> ModelStore:
    return ModelStore(settings)


@pytest.fixture(scope="session")
def checker(settings: QualitySettings, store: ModelStore) -> PhotoChecker:
    return PhotoChecker(settings, store)


def scene(subject: int = 0, faults: tuple[str, ...] = (), size: tuple[int, int] = SIZE) -> np.ndarray:
    return render_scene(subject, frozenset(faults), size)
