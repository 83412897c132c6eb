"""The ``[quality]`` configuration section: check limits, each justified where it is defined."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class QualitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Folder of the unpacked, sha256-checked .tflite files; empty = the default cache
    # ($BOOTH_MODEL_DIR, else ~/.cache/diploma-booth/models).
    model_dir: str = ""
    # LiteRT interpreter threads: the Pi 4/5 has 4 cores; the UI and uplink need one.
    threads: int = 2
