"""The booth's sounds through pygame's real mixer, on SDL's dummy audio driver (no sound card needed),
and with the mixer failing: at start (an audio driver that does not exist) and mid-run (the mixer gone)."""

from __future__ import annotations

import logging

import numpy as np
import pygame
import pytest

from appliance.flow import views
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.ui.sound import (
    FADE_S,
    SHUTTER_CLICK_S,
    SHUTTER_GAP_S,
    TONE_S,
    CountdownTones,
    ShutterCamera,
    Sounds,
    shutter,
    tone,
)
from boothcore.text import Text


class RecordedSounds(Sounds):
    """The real sounds, with a note of each one started (what the booth's speaker would play)."""

    def __init__(self, enabled: bool) -> None:
        super().__init__(enabled)
        self.played: list[str] = []

    def play(self, name: str) -> bool:
        started = super().play(name)
        if started:
            self.played.append(name)
        return started


class Recorder:
    """A display that keeps what it was shown (the screen itself is tested elsewhere)."""

    def __init__(self) -> None:
        self.views: list = []
        self.closed = False

    def show(self, view) -> None:
        self.views.append(view)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def dummy_audio(monkeypatch):
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    yield
    pygame.mixer.quit()


def test_the_tone_is_short_and_faded_so_it_does_not_click() -> None:
    wave = tone(44100)
    assert len(wave) == round(44100 * TONE_S)
    assert np.abs(wave).max() == pytest.approx(1.0, abs=0.01)
    fade = round(44100 * FADE_S)
    assert abs(wave[0]) < 1e-9 and np.abs(wave[:fade // 4]).max() < 0.3 and np.abs(wave[-fade // 4:]).max() < 0.3
    spectrum = np.abs(np.fft.rfft(wave))
    assert np.fft.rfftfreq(len(wave), 1 / 44100)[spectrum.argmax()] == pytest.approx(880, abs=12)


def test_the_shutter_is_two_bursts_with_quiet_between() -> None:
    rate = 44100
    wave = shutter(rate)
    assert np.abs(wave).max() <= 1.0 and np.array_equal(wave, shutter(rate))  # the same sound each time
    click, gap = round(rate * SHUTTER_CLICK_S), round(rate * SHUTTER_GAP_S)
    first, between, second = wave[:click // 3], wave[click:gap], wave[gap:gap + click // 3]
    loud = min(np.abs(first).max(), np.abs(second).max())
    assert np.abs(between).max() < loud / 20


def test_sounds_play_on_the_mixer_with_the_dummy_driver(dummy_audio) -> None:
    sounds = Sounds(True)
    try:
        assert sounds.audible and pygame.mixer.get_init() is not None
        assert sounds.play("tick") and sounds.play("shutter")
    finally:
        sounds.close()
    assert pygame.mixer.get_init() is None and not sounds.play("tick")


def test_sound_off_never_starts_the_mixer() -> None:
    sounds = Sounds(False)
    assert not sounds.audible and pygame.mixer.get_init() is None
    assert not sounds.play("tick")
    sounds.close()


def test_no_sound_device_is_silence_and_one_warning(monkeypatch, caplog) -> None:
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-audio-driver")
    with caplog.at_level(logging.WARNING, logger="appliance.ui.sound"):
        sounds = Sounds(True)
    assert not sounds.audible and pygame.mixer.get_init() is None
    assert not sounds.play("tick") and not sounds.play("shutter")
    sounds.close()
    (record,) = caplog.records
    assert record.getMessage().startswith("sound: silent, the mixer does not start (error: ")


def test_a_mixer_failing_mid_run_goes_silent_without_a_crash(dummy_audio, caplog) -> None:
    sounds = Sounds(True)
    assert sounds.play("tick")
    pygame.mixer.quit()  # the audio device went away under the booth
    with caplog.at_level(logging.WARNING, logger="appliance.ui.sound"):
        assert not sounds.play("shutter")
        assert not sounds.play("tick")
    assert not sounds.audible and len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("sound: silent from now on, the mixer failed")
    sounds.close()


def test_a_tone_on_each_new_countdown_second_and_none_elsewhere(dummy_audio) -> None:
    sounds = RecordedSounds(True)
    shown = Recorder()
    display = CountdownTones(shown, sounds)
    frame = np.zeros((48, 64, 3), np.uint8)
    for seconds in (3, 3, 3, 2, 2, 1, 1):  # preview frames at 15 per second, seconds left whole
        display.show(views.countdown(seconds, frame, [], "booth-01"))
    assert sounds.played == ["tick", "tick", "tick"] and len(shown.views) == 7
    display.show(views.review(frame, True, [], True, "booth-01"))
    display.show(views.countdown(3, frame, [Text("靠近一点", "Move closer")], "booth-01"))  # a retake counts down again
    assert sounds.played == ["tick"] * 4
    assert display.views is shown.views  # the rest of the display is the wrapped one's
    display.close()
    assert shown.closed and pygame.mixer.get_init() is None


def test_the_shutter_sounds_as_the_still_is_taken(dummy_audio) -> None:
    sounds = RecordedSounds(True)
    camera = ShutterCamera(SimulatedCamera(resolution=(96, 128)), sounds)
    camera.start()
    try:
        camera.preview_frame()
        assert sounds.played == []  # the live preview is silent
        still = camera.capture()
        assert sounds.played == ["shutter"] and still.shape == (128, 96, 3)
    finally:
        camera.close()
        sounds.close()
