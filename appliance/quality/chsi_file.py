"""The CHSI output file: baseline JPEG, 300 dpi in the JFIF header, size inside the configured range.

Quality is searched (bracketing, interpolated on log size): the highest quality >= ``min_quality``
whose file still fits ``max_kb`` (sizes grow with quality), so the registry gets the best image its
size rule allows.
Sizes are in KiB (1024 bytes), as file managers and upload forms count them.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from appliance.config import OutputSection
from appliance.durable import write_atomic
from appliance.idnumber import validate
from appliance.quality.crop import OUT_H, OUT_W

DPI = 300
KB = 1024
# Where a 480x640 portrait usually lands for a 20-40 KB range: the search's first probe.
TYPICAL_QUALITY = 90


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
    sizes: dict[int, bytes] = {}

    def encode(quality: int) -> int:
        if quality not in sizes:
            sizes[quality] = _encode(image, quality)
        return len(sizes[quality])

    lo_q, hi_q = output.min_quality, 100
    if encode(lo_q) > high:
        raise JpegSizeError(f"even quality {lo_q} gives {encode(lo_q) / KB:.1f} KB > {output.max_kb} KB",
                            sizes[lo_q], lo_q)
    # Invariant: lo_q fits; hi_q does not (101 = "above 100", never encoded). The first probe is a
    # typical portrait quality; then interpolation on log size (sizes grow about exponentially with
    # quality) alternates with bisection, so a bad interpolation near 100 cannot stall the search:
    # 4-5 encodes where plain bisection of 60-100 needs 6-7.
    hi_q = 101
    probe = max(lo_q + 1, min(TYPICAL_QUALITY, 100))
    step = 0
    while hi_q - lo_q > 1:
        if step == 0:
            quality = probe
        elif step % 2 == 1 and hi_q <= 100:
            s_lo, s_hi = math.log(encode(lo_q)), math.log(encode(hi_q))
            guess = lo_q + (math.log(high) - s_lo) / max(s_hi - s_lo, 1e-9) * (hi_q - lo_q)
            quality = min(max(round(guess), lo_q + 1), hi_q - 1)
        else:
            quality = (lo_q + hi_q) // 2
        if encode(quality) <= high:
            lo_q = quality
        else:
            hi_q = quality
        step += 1
    data = sizes[lo_q]
    if len(data) < low:
        raise JpegSizeError(f"quality {lo_q} gives only {len(data) / KB:.1f} KB < {output.min_kb} KB "
                            "(a very plain image)", data, lo_q)
    return data


def write_chsi_photo(folder: Path, id_number: str, jpeg: bytes) -> Path:
    """Write ``<id_number>.jpg`` atomically. Only a validated 18-character ID number becomes a file
    name, so no path character from a card or a keyboard ever reaches the filesystem."""
    number = validate(id_number)
    if not jpeg.startswith(b"\xff\xd8\xff") or not jpeg.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ValueError("not a complete JPEG file")
    return write_atomic(Path(folder) / f"{number}.jpg", jpeg)
