"""What every card reader gives the booth: one ``IdentityCard`` per swipe.

A reader blocks in ``wait_for_card`` until a *new* card is placed (a card left on the reader is
one swipe, not many) or the timeout passes. Hardware failures raise ``ReaderError`` subclasses
carrying a zh/en message; the booth shows it and keeps running.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from boothcore.cardkind import CardKind
from boothcore.privacy import mask_id, mask_name
from boothcore.text import BilingualError


@dataclass(frozen=True)
class IdentityCard:
    """The fields read from one card. ``id_number`` is the roster key (18 characters, 15 on a 2017
    foreigner's card; ``boothcore.idnumber``)."""

    kind: CardKind
    id_number: str
    name: str | None = None
    gender: str | None = None
    nationality: str | None = None
    birth_date: dt.date | None = None
    address: str | None = None
    authority: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None  # None with kind RESIDENT and long_term=True: 长期
    long_term: bool = False
    photo: bytes | None = field(default=None, repr=False)  # wlt, opaque
    # Keyboard-wedge numbers carry no name and can be faked: an operator confirms them.
    needs_operator_confirmation: bool = False
    # Foreigners' cards (I, Y): the English name; ``name`` is the Chinese name when there is one.
    name_en: str | None = None
    # J permits: the 港澳台 pass number and the issue count printed on the permit.
    pass_number: str | None = None
    issue_count: int | None = None

    def __repr__(self) -> str:  # never leak personal data into logs by accident
        return f"IdentityCard(kind={self.kind}, id={mask_id(self.id_number)}, name={mask_name(self.name)})"

    __str__ = __repr__


class ReaderError(BilingualError):
    """A reader failure the booth can show: ``code`` is stable, ``zh``/``en`` are for people."""

    code = "reader_error"

    def __init__(self, en: str, zh: str | None = None, code: str | None = None) -> None:
        super().__init__(en, zh)
        if code:
            self.code = code


class ReaderUnavailable(ReaderError):
    """The reader is not there (unplugged, no pcscd, no device): retry later."""

    code = "reader_unavailable"


class CardReadError(ReaderError):
    """A card was there but could not be read (moved away, damaged, corrupt data): place it again."""

    code = "card_read_error"


class CardRefused(ReaderError):
    """The reader works and read the card, but it cannot identify anyone with it."""

    code = "card_refused"


class CardNotRegistered(CardRefused):
    """A campus card whose UID is not in the roster (or no UID mapping is configured)."""

    code = "card_not_registered"


class CardNotSupported(CardRefused):
    """A card this reader cannot identify (e.g. an ID card on a reader without a SAM)."""

    code = "card_not_supported"


T = TypeVar("T")


class ReaderRecovery:
    """How every hardware reader lives through an unplugged device.

    The first failure is raised at once, so the booth shows it; later waits keep reopening quietly
    until their own timeout, then raise again, so the reader thread never spins.
    """

    def __init__(self, reopen_interval: float) -> None:
        self.reopen_interval = reopen_interval
        self.reported = False

    def attempt(self, deadline: float, step: Callable[[], T], closed: Callable[[], bool]) -> T | None:
        """``step()``'s result, retried through ReaderUnavailable until ``deadline``; None once closed."""
        while not closed():
            try:
                result = step()
            except ReaderUnavailable:
                if closed():
                    return None
                if not self.reported or time.monotonic() >= deadline:
                    self.reported = True
                    raise
                time.sleep(max(0.0, min(self.reopen_interval, deadline - time.monotonic())))
                continue
            self.reported = False
            return result
        return None


@runtime_checkable
class CardReader(Protocol):
    def wait_for_card(self, timeout: float) -> IdentityCard | None:
        """Block until a new card is placed (return it) or ``timeout`` seconds pass (None)."""
        ...

    def close(self) -> None: ...
