"""The booth's sounds (``[hardware] sound``): a short tone on each countdown second, a shutter at the capture.

Both are made here in code (no sound files to ship): the tone is an 880 Hz sine of 90 ms with 5 ms
fades (no click at its ends); the shutter is two bursts of decaying noise 45 ms apart, as a
mechanical shutter's opening and closing curtain sound. They play through pygame's mixer. No sound
device (or a mixer that fails later) means silence and one warning in the log, never a crash: the
booth works without its speaker.

The sounds follow what happens, the flow knows nothing of them: ``CountdownTones`` wraps the
display and sounds when a countdown view shows a new whole second; ``ShutterCamera`` wraps the
camera and sounds when the still is taken, at that moment (not when the review appears, which
waits for the checks).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from appliance.hardware.camera import Camera
from appliance.ui.view import Display, Screen, View

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100  # asked of the mixer; the tones are made at the rate it grants
TONE_HZ = 880.0  # A5: clear over a room's murmur, not shrill
TONE_S = 0.09
FADE_S = 0.005
SHUTTER_CLICK_S = 0.03  # each curtain's burst
SHUTTER_GAP_S = 0.045  # between the two curtains
VOLUME = 0.5  # of full scale: a booth's small speaker stays clean


def tone(rate: int, hz: float = TONE_HZ, seconds: float = TONE_S) -> np.ndarray:
    """A sine of ``seconds`` at ``hz``, faded in and out over FADE_S, as float samples in -1..1."""
    t = np.arange(round(rate * seconds)) / rate
    wave = np.sin(2 * np.pi * hz * t)
    fade = min(round(rate * FADE_S), len(t) // 2)
    ramp = np.linspace(0.0, 1.0, fade, endpoint=False)
    wave[:fade] *= ramp
    wave[len(wave) - fade:] *= ramp[::-1]
    return wave


def shutter(rate: int) -> np.ndarray:
    """Two decaying noise bursts SHUTTER_GAP_S apart (seeded: the same sound each time), in -1..1."""
    rng = np.random.default_rng(1)
    click_n = round(rate * SHUTTER_CLICK_S)
    gap_n = round(rate * SHUTTER_GAP_S)
    decay = np.exp(-np.arange(click_n) / (rate * 0.006))  # 6 ms time constant: a snap, not a hiss
    out = np.zeros(gap_n + click_n)
    for start, level in ((0, 1.0), (gap_n, 0.7)):
        noise = np.diff(rng.uniform(-1, 1, click_n + 1))  # first difference: the high, crisp part
        out[start:start + click_n] += level * decay * noise / 2
    return np.clip(out, -1.0, 1.0)


class Sounds:
    """The tick and the shutter on pygame's mixer; silent when the mixer could not start or fails."""

    def __init__(self, enabled: bool) -> None:
        self._sounds: dict[str, Any] = {}
        self._mixer = False  # this object started pygame's mixer (and quits it)
        if not enabled:
            return
        try:
            import pygame

            pygame.mixer.init(frequency=SAMPLE_RATE, size=-16, channels=1, buffer=512)
            self._mixer = True
            rate, _, channels = pygame.mixer.get_init()
            for name, samples in (("tick", tone(rate)), ("shutter", shutter(rate))):
                pcm = np.round(samples * VOLUME * 32767).astype(np.int16)
                if channels > 1:
                    pcm = np.repeat(pcm[:, None], channels, axis=1)
                self._sounds[name] = pygame.sndarray.make_sound(np.ascontiguousarray(pcm))
        except Exception as error:  # pygame.error: no audio device, the driver SDL_AUDIODRIVER names is absent
            log.warning("sound: silent, the mixer does not start (%s: %s)", type(error).__name__, error)
            self.close()

    @property
    def audible(self) -> bool:
        return bool(self._sounds)

    def play(self, name: str) -> bool:
        """Start ``tick`` or ``shutter`` (it plays on the mixer's thread); whether it was started."""
        sound = self._sounds.get(name)
        if sound is None:
            return False
        import pygame

        try:
            if not pygame.mixer.get_init():  # quit under us (pygame.quit()): playing now would crash pygame
                raise pygame.error("the mixer is no longer initialised")
            return sound.play() is not None  # None: every mixer channel is busy
        except Exception as error:  # pygame.error: the mixer or its device went away mid-run
            log.warning("sound: silent from now on, the mixer failed (%s: %s)", type(error).__name__, error)
            self.close()
            return False

    def close(self) -> None:
        self._sounds.clear()
        if self._mixer:
            import pygame

            pygame.mixer.quit()
            self._mixer = False


class CountdownTones:
    """A ``Display`` that shows through ``display`` and ticks when a countdown shows a new whole second."""

    def __init__(self, display: Display, sounds: Sounds) -> None:
        self.display = display
        self.sounds = sounds
        self._second: int | None = None

    def show(self, view: View) -> None:
        self.display.show(view)
        second = view.countdown if view.screen is Screen.COUNTDOWN else None
        if second is not None and second != self._second and second > 0:
            self.sounds.play("tick")
        self._second = second

    def close(self) -> None:
        self.display.close()
        self.sounds.close()

    def __getattr__(self, name: str) -> Any:
        """The wrapped display's own (``pump`` for its input, ``last_view``, ``size``)."""
        return getattr(self.display, name)


class ShutterCamera:
    """A ``Camera`` that sounds the shutter as ``capture`` takes the still."""

    def __init__(self, camera: Camera, sounds: Sounds) -> None:
        self.camera = camera
        self.sounds = sounds

    def start(self) -> None:
        self.camera.start()

    def preview_frame(self) -> np.ndarray:
        return self.camera.preview_frame()

    def capture(self) -> np.ndarray:
        self.sounds.play("shutter")
        return self.camera.capture()

    def close(self) -> None:
        self.camera.close()
