"""``[hardware] sound`` in the booth as ``booth run`` builds it: a whole cycle with the tones and the
shutter on SDL's dummy audio driver, and a booth without a sound device that stays silent."""

from __future__ import annotations

import logging

import pygame
import pytest

from appliance.app import build_booth
from appliance.cardreader.simulated import SimulatedCardReader
from appliance.flow.events import ButtonPressed, CardPresented, OperatorAction, OperatorCommand, Tick
from appliance.flow.states import State
from appliance.hardware.camera_sim import SimulatedCamera
from appliance.simulation.roster_gen import card_for
from appliance.ui.headless_display import HeadlessDisplay
from appliance.ui.sound import CountdownTones, ShutterCamera


@pytest.fixture
def sound_config(config):
    config.hardware.sound = True
    config.capture.input_guard_s = 0.0  # the cycle below is driven at machine speed
    config.capture.countdown_s = 2.0
    return config


def build(config, checker):
    camera = SimulatedCamera(resolution=(480, 640), preview_long_side=320)
    return build_booth(config, display=HeadlessDisplay(), camera=camera, reader=SimulatedCardReader(),
                       checker=checker)


def test_a_whole_cycle_with_sound_on_the_dummy_audio_driver(monkeypatch, sound_config, checker, roster, students):
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    parts = build(sound_config, checker)
    try:
        booth = parts.booth
        assert isinstance(parts.display, CountdownTones) and isinstance(booth.camera, ShutterCamera)
        assert pygame.mixer.get_init() is not None
        sounds, played = parts.display.sounds, []
        play = sounds.play
        monkeypatch.setattr(sounds, "play", lambda name: played.append(name) or play(name))  # a note of each
        student = students[0]
        booth.handle(OperatorCommand(OperatorAction.OPEN_CLASS, pin=sound_config.operator.pin,
                                     args={"college": student.college, "class_name": student.class_name}))
        booth.handle(CardPresented(card_for(student)))
        booth.handle(ButtonPressed())
        assert booth.state is State.COUNTDOWN
        while booth.state is State.COUNTDOWN:
            booth.handle(Tick())
        assert booth.state is State.REVIEW
        # "2" and "1" shown, each with its tone (a loaded machine's slow first frame may skip the "2"),
        # then the shutter once
        assert played in (["tick", "tick", "shutter"], ["tick", "shutter"]), played
    finally:
        parts.close()
    assert pygame.mixer.get_init() is None  # closed with the display


def test_sound_on_without_a_sound_device_is_a_silent_booth(monkeypatch, caplog, sound_config, checker):
    monkeypatch.setenv("SDL_AUDIODRIVER", "no-such-audio-driver")
    with caplog.at_level(logging.WARNING):
        parts = build(sound_config, checker)
    try:
        assert not isinstance(parts.display, CountdownTones) and not isinstance(parts.booth.camera, ShutterCamera)
        assert parts.booth.state is State.NO_SESSION
        assert any(record.getMessage().startswith("sound: silent, the mixer does not start")
                   for record in caplog.records)
    finally:
        parts.close()
