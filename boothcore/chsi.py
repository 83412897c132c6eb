"""The CHSI photo file both programs agree on: its pixel size, its resolution, its byte range.

The booth writes such files (``appliance.quality``); the central office checks them again before
an export. Source of the numbers: the CHSI standard (480x640 pixels, 300 dpi, 20-40 KB).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from boothcore.config import ConfigSection

OUT_W, OUT_H = 480, 640
DPI = 300


class OutputSection(ConfigSection):
    """The ``[output]`` section of booth.toml: what a CHSI file must be (central's export checks the same)."""

    # The CHSI file: 480x640 at 300 dpi, baseline JPEG, quality >= 60, size in the range below.
    # Sizes are in bytes: CHSI's "20-40 KB" is read as KiB by some upload forms (20,480-40,960) and
    # as thousands of bytes by others (20,000-40,000); 20,480-40,000 passes under either reading.
    min_bytes: int = Field(default=20_480, ge=5_120)
    max_bytes: int = Field(default=40_000, le=204_800)
    min_quality: int = Field(default=60, ge=60, le=100)

    @model_validator(mode="after")
    def _range(self) -> OutputSection:
        if self.min_bytes >= self.max_bytes:
            raise ValueError(f"output.min_bytes = {self.min_bytes}: must be below output.max_bytes "
                             f"({self.max_bytes})")
        return self
