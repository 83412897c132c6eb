"""Text for people in the booth's two languages, and the one error base class that carries it.

The flow, the checks, the eligibility rules and the card readers phrase what they tell people
here; the displays render it. Chinese is shown first, English under it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    """One message in Chinese (shown first) and English."""

    zh: str
    en: str


class BilingualError(Exception):
    """An error phrased for people in both languages (a card reader's fault, a refused operator action).

    ``en`` is also the exception's message: logs and one-line CLI errors are English. ``zh`` is
    shown above it on the booth's screen; without one the English is shown alone.
    """

    def __init__(self, en: str, zh: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh or en

    @property
    def text(self) -> Text:
        """The message as the screen shows it."""
        return Text(self.zh, self.en)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` with its English noun in the right number: "1 graduate", "0 graduates", "2 classes"
    (``plural``: for nouns that do not just take an "s")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
