"""The ``[uplink]`` configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class UplinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Empty = no uplink (photos stay in the local outbox until one is configured).
    broker_url: str = ""
