"""Percentiles for the checks, exactly numpy's default (linear) method, without its overhead.

``np.percentile`` runs a multi-index partition plus ~50 us of Python per call; a SIMD sort of the
few ten thousand values the checks look at is a quarter of that, and uint8 values need only a
256-bin histogram.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, qs)`` (linear method), from one sort."""
    ordered = np.sort(values, axis=None)
    last = ordered.size - 1
    found = []
    for q in qs:
        h = last * q / 100.0
        low = math.floor(h)
        a, b = float(ordered[low]), float(ordered[min(low + 1, last)])
        found.append(a + (b - a) * (h - low))
    return found


def u8_percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, qs)`` of uint8 values, from the cumulative histogram (the k-th
    smallest value is the first level whose cumulative count exceeds k)."""
    counts = np.cumsum(cv2.calcHist([values], [0], None, [256], [0, 256]).ravel().astype(np.int64))
    last = int(counts[-1]) - 1
    found = []
    for q in qs:
        h = last * q / 100.0
        low = math.floor(h)
        a, b = np.searchsorted(counts, [low, min(low + 1, last)], side="right")
        found.append(float(a) + float(b - a) * (h - low))
    return found
