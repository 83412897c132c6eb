"""The BLOCKED screen: a missing card reader or camera stops the booth taking cards until it is back.

Driven through the flow's public events with the real checks and the simulated sensor; the camera
that stops delivering is the sensor edge, the one place a stand-in is used.
"""

from __future__ import annotations

import pytest

from appliance.cardreader.base import ReaderUnavailable
from appliance.flow.events import CardPresented, ReaderBack, ReaderFault, Tick
from appliance.flow.states import State
from appliance.hardware.camera import CameraUnavailable
from appliance.simulation.roster_gen import card_for
from appliance.ui.blocked import CAMERA_MISSING
from appliance.ui.view import Screen
from tests.booth.test_booth_flow import Rig

UNPLUGGED = ReaderUnavailable("PC/SC card reader: no reader is attached", "PC/SC读卡器:未连接读卡器")


class UnpluggableCamera:
    """The simulated sensor with a cable that can be pulled: no frame while unplugged."""

    def __init__(self, camera) -> None:
        self.camera = camera
        self.plugged = True

    def __getattr__(self, name):
        return getattr(self.camera, name)

    def _deliver(self, frame):
        if not self.plugged:
            raise CameraUnavailable("no frame from the sensor")
        return frame()

    def preview_frame(self):
        return self._deliver(self.camera.preview_frame)

    def capture(self):
        return self._deliver(self.camera.capture)


@pytest.fixture
def camera(sim_camera):
    return UnpluggableCamera(sim_camera)


@pytest.fixture
def rig(config, roster, ledger, camera, checker, photo_output):
    config.booth.staff_contact = "教务处 王老师 6275-0000"
    return Rig(config, roster, ledger, camera, checker, photo_output)


def blocked_lines(rig):
    view = rig.display.last_view
    assert view.screen is Screen.BLOCKED
    return [line.en for line in view.lines], [line.zh for line in view.lines], view.status


def test_unplugged_reader_blocks_with_the_reason_and_booth_id_and_its_return_goes_back_to_idle(rig, students):
    rig.open_class(students[0])
    assert rig.send(ReaderFault(UNPLUGGED)) is State.BLOCKED
    en, zh, status = blocked_lines(rig)
    assert en[0] == UNPLUGGED.en and zh[0] == UNPLUGGED.zh
    assert "Please call 教务处 王老师 6275-0000" in en
    assert f"Booth id {rig.config.booth.id}" in en and status == rig.config.booth.id
    # Ticks and timeouts do not leave BLOCKED while the reader is missing.
    assert rig.wait(rig.config.capture.message_timeout_s * 10) is State.BLOCKED
    assert rig.send(ReaderBack()) is State.IDLE
    assert rig.send(CardPresented(card_for(students[0]))) is State.READY


def test_reader_unplugged_before_a_class_is_opened_blocks_too(rig, students):
    assert rig.send(ReaderFault(UNPLUGGED)) is State.BLOCKED
    assert rig.send(ReaderBack()) is State.NO_SESSION


def test_reader_unplugged_mid_cycle_lets_the_cycle_finish_then_blocks(rig, students):
    rig.open_class(students[0])
    assert rig.send(CardPresented(card_for(students[0]))) is State.READY
    assert rig.send(ReaderFault(UNPLUGGED)) is State.READY  # the student in the chair is not lost
    assert rig.shoot() is State.REVIEW
    assert rig.press() is State.SAVED
    assert rig.ledger.accepted_for(students[0].id_number)
    assert rig.wait(rig.config.capture.message_timeout_s + 0.1) is State.BLOCKED
    assert rig.send(ReaderBack()) is State.IDLE


def test_reader_back_mid_cycle_is_noted_and_the_cycle_ends_in_idle(rig, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    rig.send(ReaderFault(UNPLUGGED))
    assert rig.send(ReaderBack()) is State.READY
    assert rig.wait(rig.config.capture.ready_timeout_s + 0.1) is State.IDLE


def test_camera_failing_mid_countdown_blocks_the_student_starts_over_and_its_return_goes_back_to_idle(
        rig, camera, students):
    rig.open_class(students[0])
    assert rig.send(CardPresented(card_for(students[0]))) is State.READY
    assert rig.press() is State.COUNTDOWN
    camera.plugged = False
    assert rig.send(Tick()) is State.BLOCKED
    en, _, _ = blocked_lines(rig)
    assert en[0] == CAMERA_MISSING.en
    assert rig.booth.cycle is None and not rig.ledger.accepted_for(students[0].id_number)
    assert rig.wait(5) is State.BLOCKED  # still no frame
    camera.plugged = True
    assert rig.wait(1) is State.IDLE
    rig.photograph(students[0])  # the student starts over, with a new card read


def test_camera_failing_at_the_capture_blocks(rig, camera, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    assert rig.press() is State.COUNTDOWN
    camera.camera.preview_frame()  # the preview still came; the still does not
    camera.plugged = False
    assert rig.wait(rig.config.capture.countdown_s + 0.01) is State.BLOCKED
    assert rig.booth.cycle is None


def test_camera_without_frames_at_the_button_blocks_instead_of_counting_down(rig, camera, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    camera.plugged = False
    assert rig.press() is State.BLOCKED


def test_both_parts_missing_are_both_named_and_both_must_come_back(rig, camera, students):
    rig.open_class(students[0])
    rig.send(CardPresented(card_for(students[0])))
    camera.plugged = False
    assert rig.press() is State.BLOCKED
    assert rig.send(ReaderFault(UNPLUGGED)) is State.BLOCKED
    en, _, _ = blocked_lines(rig)
    assert en[:2] == [CAMERA_MISSING.en, UNPLUGGED.en]
    assert rig.send(ReaderBack()) is State.BLOCKED
    assert blocked_lines(rig)[0][0] == CAMERA_MISSING.en
    camera.plugged = True
    assert rig.wait(1) is State.IDLE


def test_a_camera_missing_at_start_up_starts_the_booth_blocked_until_it_is_plugged_in(
        monkeypatch, config, checker, students):
    """The booth as ``booth run`` builds it, on the picamera2 backend with its sensor unplugged."""
    from appliance.app import build_booth
    from appliance.cardreader.simulated import SimulatedCardReader
    from appliance.hardware import camera_picamera2
    from appliance.hardware.camera_picamera2 import REOPEN_INTERVAL_S, Picamera2Camera
    from appliance.ui.headless_display import HeadlessDisplay
    from tests.hardware.fake_picamera2 import install

    sensor = install(monkeypatch)
    monkeypatch.setattr(camera_picamera2, "FRAME_TIMEOUT_S", 0.05)
    sensor.present = False
    now = [100.0]
    camera = Picamera2Camera(clock=lambda: now[0])
    parts = build_booth(config, display=HeadlessDisplay(), camera=camera, reader=SimulatedCardReader(),
                        checker=checker)
    try:
        booth = parts.booth
        assert booth.state is State.BLOCKED
        assert booth.display.last_view.lines[0].en == CAMERA_MISSING.en
        booth.handle(CardPresented(card_for(students[0])))  # no cards while blocked
        assert booth.state is State.BLOCKED
        sensor.present = True
        booth.handle(Tick())
        assert booth.state is State.BLOCKED  # tried again only after the reopen interval
        now[0] += REOPEN_INTERVAL_S
        booth.handle(Tick())
        assert booth.state is State.NO_SESSION and not booth.missing
    finally:
        parts.close()
