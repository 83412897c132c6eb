"""The booth loop: hardware threads enqueue events, the main thread runs the state machine.

Only the main thread touches the state machine and the display (pygame must stay on it); the card
reader blocks in its own thread, the GPIO button fires gpiozero callbacks on another. All of them
post ``Event``s into one queue.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable

from appliance.cardreader.base import CardReader, ReaderError
from appliance.flow.booth import Booth
from appliance.flow.events import (
    ButtonPressed,
    CardPresented,
    Event,
    KeyTapped,
    OperatorCalled,
    ReaderBack,
    ReaderFault,
    RetakePressed,
    Stamped,
    Tick,
)
from appliance.flow.indicators import PanelIndicator
from appliance.flow.states import State
from appliance.hardware.gpio import BoothPanel
from appliance.ui.inputs import InputKind
from boothcore.privacy import masked_traceback

log = logging.getLogger(__name__)

PREVIEW_TICK_S = 1 / 15  # live preview rate during the countdown
IDLE_TICK_S = 0.25  # timeouts and opening hours need no more
READER_POLL_S = 0.5
READER_RETRY_MAX_S = 5.0


class BoothInbox:
    """The booth's event queue: any thread posts, the loop's main thread takes.

    It exists before the booth so the parts that post (the GPIO button, central's commands) are
    built first and handed to the booth at construction. ``clock`` must be the booth's clock: a
    person's input is stamped with it when it is made.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.events: queue.Queue[Event] = queue.Queue()

    def post(self, event: Event) -> None:
        """Thread-safe: hand an event to the booth. A person's input is stamped now, when it was
        made, so the booth can tell which screen it answered however long it waited in the queue."""
        if isinstance(event, Stamped) and event.at is None:
            event = dataclasses.replace(event, at=self.clock())
        self.events.put(event)

    def press_button(self) -> None:
        """The GPIO callback (gpiozero thread) and the simulator call this."""
        self.post(ButtonPressed())


class BoothLoop:
    def __init__(self, booth: Booth, reader: CardReader, inbox: BoothInbox, *, display: object | None = None,
                 heartbeats: Iterable[Callable[[], None]] = ()) -> None:
        """``display``: the window whose input (keys, taps) feeds the booth too, if it has any (``pump()``).
        ``heartbeats``: called on this (main) thread once per iteration, proof the loop turns (systemd's
        watchdog)."""
        self.booth = booth
        self.reader = reader
        self.inbox = inbox
        self.pump_inputs = ui_events(display, self.stop) if display is not None else None
        self.heartbeats = list(heartbeats)
        self._stop = threading.Event()
        self._reader_thread = threading.Thread(target=self._read_cards, name="card-reader", daemon=True)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _read_cards(self) -> None:
        backoff = READER_POLL_S
        faulted = False  # a fault was posted: the next wait that succeeds means the reader is back
        while not self._stop.is_set():
            try:
                card = self.reader.wait_for_card(READER_POLL_S)
                backoff = READER_POLL_S
            except ReaderError as error:
                faulted = True
                self.inbox.post(ReaderFault(error))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, READER_RETRY_MAX_S)
                continue
            except Exception as error:
                log.error("card reader thread: unexpected failure; retrying: %s", masked_traceback(error))
                self._stop.wait(READER_RETRY_MAX_S)
                continue
            if faulted:
                faulted = False
                self.inbox.post(ReaderBack())
            if card is not None:
                self.inbox.post(CardPresented(card))

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Serve events until ``stop()`` or ``until()`` is true."""
        self._reader_thread.start()
        try:
            while not self._stop.is_set() and not (until and until()):
                for beat in self.heartbeats:
                    beat()
                tick = PREVIEW_TICK_S if self.booth.state is State.COUNTDOWN else IDLE_TICK_S
                deadline = time.monotonic() + tick
                for event in self.pump_inputs() if self.pump_inputs else []:
                    self.booth.handle(event)
                try:
                    event = self.inbox.events.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    event = Tick()
                self.booth.handle(event)
                if not isinstance(event, Tick) and time.monotonic() >= deadline:
                    self.booth.handle(Tick())
        finally:
            self._stop.set()
            self.reader.close()
            self._reader_thread.join(timeout=2)


def panel_feeds(panel: BoothPanel, inbox: BoothInbox) -> PanelIndicator:
    """The panel's buttons post to the inbox; the returned listener makes its LEDs and relay follow
    the booth's state (give it to the booth as one of its listeners)."""
    panel.when_button = inbox.press_button
    panel.when_retake = lambda: inbox.post(RetakePressed())
    panel.when_operator_held = lambda: inbox.post(OperatorCalled())
    return PanelIndicator(panel)


def ui_events(display: object, stop: Callable[[], None]) -> Callable[[], list[Event]]:
    """Window input as booth events (space/enter/tap = button, R/tap Retake = retake, a tap on a key =
    that key, a tap on the top-left corner = the operator's keypad, Esc = stop)."""
    pump = getattr(display, "pump", None)

    def events() -> list[Event]:
        result: list[Event] = []
        for item in pump() if pump else []:
            if item.kind is InputKind.BUTTON:
                result.append(ButtonPressed())
            elif item.kind is InputKind.RETAKE:
                result.append(RetakePressed())
            elif item.kind is InputKind.KEY:
                result.append(KeyTapped(item.key))
            elif item.kind is InputKind.OPERATOR:
                result.append(OperatorCalled())
            elif item.kind is InputKind.QUIT:
                stop()
        return result

    return events
