"""Flagging a stored photo for a retake (an admin on the dashboard, with a reason).

The photo stops being its person's current one (``Store.flag_retake``), so the person is on the
missing list again and the photo leaves the registry export; the flag and its reason stay with
the photo, and the change goes into the audit trail. Then every booth gets ``allow_retake``
(``central.commands``), so the booth photographs the person once more without the operator's
override. The flag stands even when the broker cannot be reached; the answer says so, and the
operator's override remains the way to photograph the person until the booths are told.
"""

from __future__ import annotations

from dataclasses import dataclass

from boothcore.names import printable
from boothcore.privacy import mask_id
from central.commands import allow_retake
from central.config import CentralConfig
from central.store import PhotoRecord, RetakeFlag, Store, utc
from central.users import Users

MAX_REASON = 200  # characters: one line on the photo page and in the audit trail


class FlagError(ValueError):
    """A flag that cannot be set (no reason, an unknown or no longer current photo), in one line."""


@dataclass(frozen=True)
class FlagOutcome:
    record: PhotoRecord
    booths: list[str]  # the booths told to allow the retake
    problem: str = ""  # why the booths were not told ("" = they were)


def flag_photo(config: CentralConfig, store: Store, record: PhotoRecord, reason: str, actor: str) -> FlagOutcome:
    """Flag ``record`` (see the module docstring); FlagError when it cannot be flagged."""
    reason = printable(" ".join(reason.split()))
    if not reason:
        raise FlagError("请写明重拍原因 / Give the reason for the retake")
    if len(reason) > MAX_REASON:
        raise FlagError(f"重拍原因太长 / The reason is longer than {MAX_REASON} characters")
    flag = RetakeFlag(photo_id=record.photo_id, id_number=record.id_number, reason=reason, actor=actor,
                      flagged_at=utc())
    if not store.flag_retake(flag):
        raise FlagError("这张照片已不是当前照片（已标记或已有新照片） / This photo is no longer the person's current "
                        "one (already flagged, or a newer photo arrived)")
    # The Store protocol has no conn; every store open_store makes is a SqlStore, which has.
    Users(store.conn).audit(actor, "retake_flag", f"{record.college}/{record.class_name} "  # type: ignore[attr-defined]
                            f"{mask_id(record.id_number)} photo {record.photo_id}: {reason}")
    try:
        booths = allow_retake(config, store, record.id_number, record.photo_id)
    except OSError as error:  # ConnectionError included: the broker is down or refused us
        return FlagOutcome(record, [], f"{error}")
    return FlagOutcome(record, booths)
