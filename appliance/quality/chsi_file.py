"""The CHSI output file: baseline JPEG, 300 dpi in the JFIF header, size inside the configured range.

Quality is searched (bracketing, each probe predicted from a size model): the highest quality
>= ``min_quality`` whose file still fits ``output.max_bytes`` (sizes grow with quality), so the
registry gets the best image its size rule allows.
Sizes are in bytes (``OutputSection``: the default 20,480-40,000 passes whether an upload form
reads CHSI's "20-40 KB" as KiB or as thousands of bytes).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from boothcore.chsi import DPI, OUT_H, OUT_W, OutputSection
from boothcore.durable import write_atomic
from boothcore.idnumber import validate

# The quality of the sample encode that predicts the first probe (where a 480x640 portrait lands
# for a 20-40 KB range).
TYPICAL_QUALITY = 88
# Size model of the quality search: log(size) ~ a + b * log(SIZE_POLE - quality). The default
# slope b is the median fitted on portraits, test patterns and scenery (-0.76 to -0.45); the
# line is refitted from the full encodes once there are two.
SIZE_POLE = 100.5
SIZE_SLOPE = -0.57
# The sample encode takes every 4th 16-row strip (one JPEG MCU row at 4:2:0).
SAMPLE_STRIDE = 4


class JpegSizeError(ValueError):
    """No quality >= min_quality gives a file inside [min_bytes, max_bytes]; ``closest`` is the valid JPEG
    (quality >= min_quality) whose size is nearest to the range, ``quality`` its quality."""

    def __init__(self, message: str, closest: bytes, quality: int):
        super().__init__(message)
        self.closest = closest
        self.quality = quality


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, dpi=(DPI, DPI), progressive=False, optimize=False)
    return buffer.getvalue()


# Markers and tables (JFIF, DQT, SOF, DHT, SOS) of every file, whatever its quality: the part of
# the size that does not scale with the image area.
_HEADER_BYTES = len(_encode(Image.new("RGB", (16, 16), (128, 128, 128)), TYPICAL_QUALITY))


def _log_size_model(array: np.ndarray, quality: int) -> tuple[float, float]:
    """(a, b) of log(size) ~ a + b * log(SIZE_POLE - quality), from one cheap encode of every
    ``SAMPLE_STRIDE``-th 16-row strip (baseline JPEG with the standard Huffman tables codes each
    8x8 block on its own, so the strips' size scales to the whole image within a few per cent)."""
    strips = array.reshape(OUT_H // 16, 16, OUT_W, 3)[::SAMPLE_STRIDE].reshape(-1, OUT_W, 3)
    sample = len(_encode(Image.fromarray(np.ascontiguousarray(strips), "RGB"), quality))
    estimate = max(sample - _HEADER_BYTES, 1) * (OUT_H / strips.shape[0]) + _HEADER_BYTES
    return math.log(estimate) - SIZE_SLOPE * math.log(SIZE_POLE - quality), SIZE_SLOPE


def _predict(a: float, b: float, high: int) -> float:
    """The quality at which the size model reaches ``high`` bytes (unbounded: the caller clamps)."""
    if b >= 0:
        return math.inf
    exponent = (math.log(high) - a) / b
    return SIZE_POLE - math.exp(min(exponent, 50.0))


def encode_chsi_jpeg(image480x640_rgb: np.ndarray, output: OutputSection) -> bytes:
    """The JPEG bytes for a 480x640 RGB image; raises ``JpegSizeError`` when the size range cannot be met."""
    array = np.asarray(image480x640_rgb)
    if array.shape != (OUT_H, OUT_W, 3) or array.dtype != np.uint8:
        raise ValueError(f"expected a {OUT_W}x{OUT_H} RGB uint8 image, got shape {array.shape} {array.dtype}")
    image = Image.fromarray(array, "RGB")
    low, high = output.min_bytes, output.max_bytes
    min_q = output.min_quality
    sizes: dict[int, bytes] = {}

    def encode(quality: int) -> int:
        if quality not in sizes:
            sizes[quality] = _encode(image, quality)
        return len(sizes[quality])

    # Invariant: lo_q fits (min_q - 1 = "nothing yet"), hi_q does not (101 = "above 100", never
    # encoded); every probe lies strictly between them, so the result is exactly the highest quality
    # that fits, as with bisection. Only the choice of probe is predicted: log size is close to
    # linear in log(100.5 - quality) (libjpeg scales its tables by 100 - quality). The first guess
    # comes from a quarter-size sample encode, later ones from the line through the encoded
    # qualities nearest the bracket: 2-3 full encodes where bisection needs 6-7.
    a, b = _log_size_model(array, TYPICAL_QUALITY)
    lo_q, hi_q = min_q - 1, 101
    run = 0  # probes in a row that moved the same end of the bracket
    moved_lo = False
    while hi_q - lo_q > 1:
        if lo_q in sizes and hi_q in sizes and hi_q < 100:
            points = [lo_q, hi_q]  # false position inside the bracket
        else:
            points = sorted((q for q in sizes if q < 100), key=lambda q: abs(q - lo_q if moved_lo else q - hi_q))
        if len(points) == 1:  # re-anchor the sampled line on the full encode, keep its slope
            a = math.log(len(sizes[points[0]])) - b * math.log(SIZE_POLE - points[0])
        elif len(points) >= 2:
            qa, qb = points[:2]
            ua, ub = math.log(SIZE_POLE - qa), math.log(SIZE_POLE - qb)
            va, vb = math.log(len(sizes[qa])), math.log(len(sizes[qb]))
            if vb != va:
                b = (vb - va) / (ub - ua)
                a = va - b * ua
        guess = _predict(a, b, high)
        # A model that keeps missing on one side (a curved size curve) hands over to bisection.
        if run >= 2 or not math.isfinite(guess):
            quality = (lo_q + hi_q) // 2
        else:
            quality = min(max(math.floor(guess), lo_q + 1), hi_q - 1)
        fits = encode(quality) <= high
        run = run + 1 if fits == moved_lo else 1
        moved_lo = fits
        if fits:
            lo_q = quality
        else:
            hi_q = quality
    if lo_q < min_q:
        raise JpegSizeError(f"even quality {min_q} gives {encode(min_q):,} bytes > output.max_bytes "
                            f"({high:,})", sizes[min_q], min_q)
    data = sizes[lo_q]
    if len(data) < low:
        raise JpegSizeError(f"quality {lo_q} gives only {len(data):,} bytes < output.min_bytes ({low:,}) "
                            "(a very plain image)", data, lo_q)
    return data


def write_chsi_photo(folder: Path, id_number: str, jpeg: bytes) -> Path:
    """Write ``<id_number>.jpg`` atomically. Only a validated 18-character ID number becomes a file
    name, so no path character from a card or a keyboard ever reaches the filesystem."""
    number = validate(id_number)
    if not jpeg.startswith(b"\xff\xd8\xff") or not jpeg.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ValueError("not a complete JPEG file")
    return write_atomic(Path(folder) / f"{number}.jpg", jpeg)
