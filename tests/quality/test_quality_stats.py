"""The checks' percentile helpers agree with numpy's default method on awkward inputs."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.quality.stats import percentiles, u8_percentiles

QS = (0, 1, 5, 20, 25, 50, 95, 99, 100)


@pytest.mark.parametrize("size", [1, 2, 7, 1000, 25383])
def test_float_percentiles_match_numpy(size):
    values = np.random.default_rng(size).normal(60, 9, size).astype(np.float32)
    values[::5] = values[0]  # ties
    assert percentiles(values, QS) == pytest.approx(np.percentile(values, QS), rel=1e-6, abs=1e-5)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (320, 240)])
@pytest.mark.parametrize("spread", [0, 3, 255])
def test_uint8_percentiles_match_numpy(shape, spread):
    rng = np.random.default_rng(spread)
    values = np.clip(rng.normal(120, spread + 1e-9, shape), 0, 255).astype(np.uint8)
    assert u8_percentiles(values, QS) == pytest.approx(np.percentile(values, QS), abs=1e-9)
