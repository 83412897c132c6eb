"""The CHSI output file: baseline JPEG, 300 dpi in the JFIF header, size inside the configured range.

Quality is chosen by binary search: the highest quality >= ``min_quality`` whose file still fits
``max_kb`` (sizes grow with quality), so the registry gets the best image its size rule allows.
Sizes are in KiB (1024 bytes), as file managers and upload forms count them.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from appliance.config import OutputSection
from appliance.durable import write_atomic
from appliance.idnumber import validate
from appliance.quality.crop import OUT_H, OUT_W

DPI = 300
KB = 1024


class JpegSizeError(ValueError):
    """No quality >= min_quality gives a file inside [min_kb, max_kb]; ``closest`` is the valid JPEG
    (quality >= min_quality) whose size is nearest to the range, ``quality`` its quality."""

    def __init__(self, message: str, closest: bytes, quality: int):
        super().__init__(message)
        self.closest = closest
        self.quality = quality


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, dpi=(DPI, DPI), progressive=False, optimize=False)
    return buffer.getvalue()


def encode_chsi_jpeg(image480x640_rgb: np.ndarray, output: OutputSection) -> bytes:
    """The JPEG bytes for a 480x640 RGB image; raises ``JpegSizeError`` when the size range cannot be met."""
    array = np.asarray(image480x640_rgb)
    if array.shape != (OUT_H, OUT_W, 3) or array.dtype != np.uint8:
        raise ValueError(f"expected a {OUT_W}x{OUT_H} RGB uint8 image, got shape {array.shape} {array.dtype}")
    image = Image.fromarray(array, "RGB")
    low, high = output.min_kb * KB, output.max_kb * KB
    lo_q, hi_q = output.min_quality, 100
    best: tuple[int, bytes] | None = None
    smallest = _encode(image, lo_q)
    if len(smallest) > high:
        raise JpegSizeError(f"even quality {lo_q} gives {len(smallest) / KB:.1f} KB > {output.max_kb} KB",
                            smallest, lo_q)
    while lo_q <= hi_q:
        mid = (lo_q + hi_q) // 2
        data = smallest if mid == output.min_quality else _encode(image, mid)
        if len(data) <= high:
            best = (mid, data)
            lo_q = mid + 1
        else:
            hi_q = mid - 1
    assert best is not None
    quality, data = best
    if len(data) < low:
        raise JpegSizeError(f"quality {quality} gives only {len(data) / KB:.1f} KB < {output.min_kb} KB "
                            "(a very plain image)", data, quality)
    return data


def write_chsi_photo(folder: Path, id_number: str, jpeg: bytes) -> Path:
    """Write ``<id_number>.jpg`` atomically. Only a validated 18-character ID number becomes a file
    name, so no path character from a card or a keyboard ever reaches the filesystem."""
    number = validate(id_number)
    if not jpeg.startswith(b"\xff\xd8\xff") or not jpeg.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ValueError("not a complete JPEG file")
    return write_atomic(Path(folder) / f"{number}.jpg", jpeg, mode=0o644)
