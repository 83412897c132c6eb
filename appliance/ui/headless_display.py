"""A display for booths without a screen (CI, the headless demo, a bench rig): it logs instead.

Each screen change is logged once (not every preview frame). ID-like numbers are masked in any
text, and on screens that name the student only the screen kind is logged: the log must never
hold a name or an 18-digit ID number.
"""

from __future__ import annotations

import logging

from appliance.ui.inputs import UiInput
from appliance.ui.view import Screen, View
from boothcore.privacy import mask_ids_in
from boothcore.text import Text

log = logging.getLogger(__name__)

# Screens whose text may carry names (the student checks theirs; the summary lists who is missing).
PERSONAL_SCREENS = frozenset({Screen.READY, Screen.CONFIRM, Screen.REFUSED, Screen.REVIEW, Screen.SAVED,
                              Screen.SUMMARY})

def describe(view: View) -> str:
    """The one log line for ``view``: English text, ID numbers masked, names left out."""
    parts = [f"screen={view.screen.value}", f"tone={view.tone.value}"]
    if view.status:
        parts.append(f"status={mask_ids_in(view.status)!r}")
    if view.screen in PERSONAL_SCREENS:
        parts.append(f"lines={len(view.lines)}")
    else:
        texts: list[Text] = [view.title, *view.lines]
        parts.append(" | ".join(mask_ids_in(text.en) for text in texts if text.en))
    if view.button is not None:
        parts.append(f"button={mask_ids_in(view.button.en)!r}")
    if view.qr_text:
        parts.append("qr=yes")
    return " ".join(parts)


class HeadlessDisplay:
    """A ``Display`` that logs screen changes and keeps what it was shown, for tests and demos."""

    def __init__(self, history: int = 200) -> None:
        self.last_view: View | None = None
        self.views: list[View] = []  # one entry per screen change, oldest dropped past ``history``
        self._history = history
        self._last_key: tuple[object, ...] | None = None
        self.frames = 0  # every show(), preview frames included

    def show(self, view: View) -> None:
        self.frames += 1
        self.last_view = view
        if view.screen == Screen.COUNTDOWN:  # guidance may change every preview frame: log the start only
            key: tuple[object, ...] = (view.screen, view.title, view.status)
        else:
            key = (view.screen, view.title, view.lines, view.tone, view.button, view.qr_text, view.status)
        if key == self._last_key:
            return
        self._last_key = key
        self.views.append(view)
        del self.views[:-self._history]
        log.info("display: %s", describe(view))

    def pump(self) -> list[UiInput]:
        """No window, so no input; the GPIO button and the simulator drive the booth."""
        return []

    def close(self) -> None:
        log.debug("display: closed after %d frames", self.frames)
