"""Touch input on the pygame display (SDL's dummy driver): a finger or a click on a key reports that
key, a finger on the top-left corner asks for the operator, SDL's mouse copy of a finger is not a
second tap, and a greyed key takes no tap."""

from __future__ import annotations

import pygame

from appliance.flow import menu_views
from appliance.flow.events import KeyTapped, OperatorCalled
from appliance.runtime import ui_events
from appliance.ui.inputs import OPERATOR, InputKind, UiInput
from appliance.ui.pygame_display import PygameDisplay


def finger(display: PygameDisplay, pos: tuple[int, int]) -> None:
    """A finger down at ``pos`` (screen pixels), as a touch screen reports it: FINGERDOWN with the position
    as fractions of the window, then SDL's mouse copy of it (``touch`` set)."""
    width, height = display.size
    pygame.event.post(pygame.event.Event(pygame.FINGERDOWN, x=pos[0] / width, y=pos[1] / height, touch_id=1,
                                         finger_id=0, pressure=1.0, dx=0.0, dy=0.0))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, touch=True))


def click(pos: tuple[int, int]) -> None:
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, touch=False))


def centre_of(display: PygameDisplay, key: str) -> tuple[int, int]:
    return dict(display.key_rects)[key].center


def test_a_finger_on_a_key_is_that_key_once(display: PygameDisplay) -> None:
    display.show(menu_views.keypad(0, 0, None, "booth-01"))
    display.pump()
    finger(display, centre_of(display, "7"))
    assert display.pump() == [UiInput(InputKind.KEY, "7")]
    click(centre_of(display, "ok") if "ok" in dict(display.key_rects) else centre_of(display, "0"))
    assert display.pump() == [UiInput(InputKind.KEY, "0")]  # OK is greyed until a digit is typed


def test_the_top_left_corner_asks_for_the_operator_on_any_screen(display: PygameDisplay) -> None:
    display.show(menu_views.menu_health((), "booth-01"))
    display.pump()
    finger(display, (5, 5))
    assert display.pump() == [OPERATOR]
    finger(display, (display.size[0] - 5, 5))  # the other corner is the clock
    assert display.pump() == []


def test_a_locked_keypad_takes_only_cancel(display: PygameDisplay) -> None:
    display.show(menu_views.keypad(0, 60, None, "booth-01"))
    display.pump()
    assert [key for key, _ in display.key_rects] == ["cancel"]
    digit_spot = (display.size[0] * 3 // 4, display.size[1] // 4)  # where the digits are drawn, greyed
    finger(display, digit_spot)
    assert display.pump() == []


def test_taps_become_booth_events(display: PygameDisplay) -> None:
    display.show(menu_views.keypad(2, 0, None, "booth-01"))
    display.pump()
    events = ui_events(display, stop=lambda: None)
    finger(display, centre_of(display, "ok"))
    finger(display, (3, 3))
    assert events() == [KeyTapped("ok"), OperatorCalled()]
