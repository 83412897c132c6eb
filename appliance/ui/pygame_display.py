"""The booth's screen: renders ``View`` objects with pygame on a 7-10" kiosk touch screen.

Chinese first, English below; tone colours; the live preview with the CHSI crop's guide; a huge
countdown; the 480x640 crop beside what to fix; the class summary with the payment QR code. Any
size works, landscape or portrait (800x480 up to 1920x1080, 1080x1920): the layout is designed at
1024x600 (600x1024 in portrait) and scaled, and text that does not fit its place is wrapped, then
shrunk down to ``MIN_TEXT_PX``, never cut off (``text_rects`` and ``cut_texts`` let tests check).
pygame is imported only when this display is created, and must be used from the main thread
(``show`` and ``pump`` both). Fonts, text surfaces and everything that does not change between
preview frames are cached, so a preview frame costs one scaled image blit (see ``bench/screen.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any  # Any: pygame's Surface, Rect and Font (pygame is imported when the display opens)

import cv2
import numpy as np

from appliance.quality.crop import CROWN_BAND, EYE_BAND, FACE_WIDTH_BAND
from appliance.ui.inputs import BUTTON, OPERATOR, QUIT, RETAKE, InputKind, UiInput
from appliance.ui.qr import qr_modules, qr_rgb
from appliance.ui.view import Key, Screen, Tone, View
from boothcore.chsi import OUT_H, OUT_W
from boothcore.fonts import find_cjk_font
from boothcore.text import Text

log = logging.getLogger(__name__)

BASE_SIZE = (1024, 600)  # the layout is designed at this size (turned, in portrait) and scaled
# The smallest text drawn, in screen pixels: wqy-microhei stays legible at 12 px (x-height ~6 px).
MIN_TEXT_PX = 12
_SHRINK_STEP = 0.92  # text that does not fit is redrawn this much smaller until it fits

BACKGROUND = (245, 247, 250)
INK = (16, 42, 67)
MUTED = (88, 104, 124)
HEADER_BG = (16, 42, 67)
HEADER_INK = (232, 239, 246)
WHITE = (255, 255, 255)
DISABLED = (178, 186, 196)  # a key that cannot be used now (the locked keypad's digits)
PREVIEW_BG = (30, 36, 44)
# White words on each reach WCAG 2's 4.5:1 (tests/ui/test_ui_contrast.py): 5.8, 5.0, 5.0, 5.7. The
# green and amber were lighter (24, 138, 58: 4.4; 204, 120, 0: 3.4) and the buttons' English line
# paler than white (3.7 on the green).
TONE_COLOURS = {
    Tone.INFO: (28, 98, 196),
    Tone.OK: (20, 128, 54),
    Tone.WARN: (170, 92, 0),
    Tone.BAD: (196, 40, 40),
}

GUIDE_SHADE = 110  # alpha of the darkening outside the crop's 3:4 window
GUIDE_BAND = (255, 255, 255, 70)  # the CHSI bands, translucent over the face
GUIDE_LINE = (255, 255, 255, 235)

QR_CAPTION = Text("支付宝 / 微信 扫码缴费", "Scan with Alipay or WeChat to pay")
NO_CAMERA = Text("相机准备中", "Camera starting")
# A passed photo can still be retaken by touch (the big button keeps it).
RETAKE_LABEL = Text("重拍", "Retake")

_TEXT_CACHE_SIZE = 512
# Latin runs (with their trailing space) wrap as words; every other character may break alone,
# except that closing punctuation (、。,;:!?)」》…, full or half width) stays with the character before it: a line
# never starts with it.
_TOKENS = re.compile(r"[\u0021-\u024f]+\s*|\s+|.[,.;:!?)\u3001\u3002\uff0c\uff1b\uff1a\uff01\uff1f\uff09"
                     r"\u300d\u300f\u300b\u2026]*")


class DisplayError(Exception):
    """The screen could not be opened (no video device, bad SDL driver); phrased for the log."""


@dataclass
class _Frame:
    """What one view looks like: the static layer and where the per-frame parts go."""

    static: Any  # pygame.Surface
    image_area: Any | None = None  # pygame.Rect the image is fitted into
    countdown_center: tuple[int, int] | None = None
    countdown_px: int = 0
    button_rect: Any | None = None
    retake_rect: Any | None = None
    mirror: bool = False
    guide: bool = False
    image_rect: Any | None = None  # where the last image was drawn
    key_rects: tuple[tuple[str, Any], ...] = ()  # (key id, pygame.Rect) of the keys that take a tap


class _Fonts:
    """One font face at many sizes, with an LRU cache of rendered text."""

    def __init__(self, pygame: Any, path: str | None) -> None:
        self._pygame = pygame
        self._path = path
        self._fonts: dict[int, Any] = {}
        self._text: OrderedDict[tuple[str, int, tuple[int, int, int]], Any] = OrderedDict()

    def font(self, px: int) -> Any:
        font = self._fonts.get(px)
        if font is None:
            font = self._fonts[px] = self._pygame.font.Font(self._path, max(px, 6))
        return font

    def render(self, text: str, px: int, colour: tuple[int, int, int]) -> Any:
        key = (text, px, colour)
        surface = self._text.get(key)
        if surface is None:
            surface = self.font(px).render(text, True, colour)
            self._text[key] = surface
            if len(self._text) > _TEXT_CACHE_SIZE:
                self._text.popitem(last=False)
        else:
            self._text.move_to_end(key)
        return surface

    def width(self, text: str, px: int) -> int:
        return int(self.font(px).size(text)[0])

    def fit(self, text: str, px: int, width: int, smallest: float = 0.6) -> int:
        """The largest size up to ``px`` (down to ``smallest`` of it) at which ``text`` fits."""
        size = px
        while size > px * smallest and self.width(text, size) > width:
            size -= max(1, px // 20)
        return size

    def wrap(self, text: str, px: int, width: int) -> list[str]:
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            for token in _TOKENS.findall(paragraph):
                if self.width(line + token, px) <= width:
                    line += token
                    continue
                if line.strip():
                    lines.append(line.rstrip())
                line = token.lstrip()
                while self.width(line, px) > width and len(line) > 1:  # a URL longer than the line
                    cut = len(line) - 1
                    while cut > 1 and self.width(line[:cut], px) > width:
                        cut -= 1
                    lines.append(line[:cut])
                    line = line[cut:]
            lines.append(line.rstrip())
        return [ln for ln in lines if ln] or [""]


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """A bad preview arrives 15 times a second: say so once, not 15 times a second."""
    if message not in _warned:
        _warned.add(message)
        log.warning("display: %s", message)


def _as_rgb(image: Any) -> np.ndarray | None:
    """The image as HxWx3 uint8, or None when it cannot be shown (logged, never raised)."""
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or min(image.shape[:2]) < 2:
        _warn_once(f"ignoring an image that is not an HxWx3 array: "
                   f"{getattr(image, 'shape', type(image).__name__)}")
        return None
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.shape[2] != 3:
        _warn_once(f"ignoring an image with {image.shape[2]} channels")
        return None
    if image.dtype != np.uint8:
        image = np.clip(np.nan_to_num(image), 0, 255).astype(np.uint8)
    return image


def _fit(size: tuple[int, int], area: Any, rect_type: Any) -> Any:
    """The largest rect of ``size``'s aspect ratio centred in ``area``."""
    width, height = size
    scale = min(area.width / width, area.height / height)
    rect = rect_type(0, 0, max(1, int(width * scale)), max(1, int(height * scale)))
    rect.center = area.center
    return rect


_Piece = tuple[str, int, tuple[int, int, int], int]  # text, px, colour, gap after (px)


class PygameDisplay:
    """A ``Display`` drawing into a pygame window (or the whole screen, or SDL's dummy driver)."""

    def __init__(self, size: tuple[int, int] | None = BASE_SIZE, fullscreen: bool = False, *,
                 mirror_preview: bool = True,
                 on_input: Callable[[UiInput], None] | None = None) -> None:
        """``size`` None: the display's own size in fullscreen, ``BASE_SIZE`` in a window.
        ``mirror_preview`` flips the live preview only (``[hardware] preview_mirror``)."""
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame  # only here: the headless booth never loads SDL

        self._pg = pygame
        try:
            pygame.display.init()
            pygame.font.init()
            flags = pygame.FULLSCREEN if fullscreen else 0
            self._screen = pygame.display.set_mode(size or ((0, 0) if fullscreen else BASE_SIZE), flags)
        except pygame.error as error:
            raise DisplayError(f"cannot open the screen (SDL video driver "
                               f"{os.environ.get('SDL_VIDEODRIVER', 'default')}): {error}") from None
        pygame.display.set_caption("毕业生图像采集 Diploma photo booth")
        if fullscreen:
            pygame.mouse.set_visible(False)
        self.size: tuple[int, int] = self._screen.get_size()
        self.portrait = self.size[1] > self.size[0]
        base_w, base_h = (BASE_SIZE[1], BASE_SIZE[0]) if self.portrait else BASE_SIZE
        self._u = min(self.size[0] / base_w, self.size[1] / base_h)
        font_path = find_cjk_font()
        log.info("display: %dx%d %s, font %s", *self.size, "fullscreen" if fullscreen else "window",
                 font_path or "pygame default (no Chinese glyphs)")
        self.font_path = font_path
        self._fonts = _Fonts(pygame, font_path)
        self._mirror_preview = mirror_preview
        self._on_input = on_input
        self._frame_key: tuple[Any, ...] | None = None
        self._frame: _Frame | None = None
        self._guides: dict[tuple[int, int], Any] = {}
        self._qr_cache: dict[tuple[str, int], Any] = {}
        self._last_view: View | None = None
        # Where each text of the static layer was drawn (its ink), and the texts that did not fit.
        self._texts: list[tuple[str, Any]] = []
        self._cut: list[str] = []
        self._number_rect: Any | None = None

    # -- Display protocol -------------------------------------------------------------------------
    def show(self, view: View) -> None:
        """Draw ``view`` and flip; cheap when only the image or the countdown changed."""
        pg = self._pg
        key = (view.screen, view.title, view.lines, view.tone, view.qr_text, view.status, view.button,
               view.image is not None, dt.datetime.now().strftime("%H:%M"))
        if key != self._frame_key or self._frame is None:
            self._texts, self._cut = [], []
            self._frame = self._compose(view)
            self._frame_key = key
        frame = self._frame
        self._screen.blit(frame.static, (0, 0))
        if view.image is not None and frame.image_area is not None:
            self._draw_image(view.image, frame)
        self._number_rect = None
        if frame.countdown_center is not None and view.countdown is not None:
            colour = TONE_COLOURS[view.tone]
            number = self._fonts.render(str(max(0, view.countdown)), frame.countdown_px, colour)
            at = number.get_rect(center=frame.countdown_center)
            self._screen.blit(number, at)
            self._number_rect = number.get_bounding_rect().move(at.topleft)
        pg.display.flip()
        pg.event.pump()
        self._last_view = view

    def close(self) -> None:
        self._pg.display.quit()

    # -- input ------------------------------------------------------------------------------------
    def pump(self) -> list[UiInput]:
        """Read pending window events (main thread only) as booth inputs; calls ``on_input`` too."""
        pg = self._pg
        inputs: list[UiInput] = []
        for event in pg.event.get():
            item = self._translate(event)
            if item is not None:
                inputs.append(item)
        if self._on_input is not None:
            for item in inputs:
                self._on_input(item)
        return inputs

    def _translate(self, event: Any) -> UiInput | None:
        pg = self._pg
        if event.type == pg.QUIT:
            return QUIT
        if event.type == pg.KEYDOWN:
            if event.key in (pg.K_SPACE, pg.K_RETURN, pg.K_KP_ENTER):
                return BUTTON
            if event.key == pg.K_ESCAPE:
                return QUIT
            if event.key == pg.K_r:
                return RETAKE
            return None
        if event.type == pg.FINGERDOWN:  # a touch screen: x, y are fractions of the window
            return self._tap((int(event.x * self.size[0]), int(event.y * self.size[1])))
        if event.type == pg.MOUSEBUTTONDOWN and event.button == 1:
            if getattr(event, "touch", False):
                return None  # SDL's mouse copy of a finger already reported as FINGERDOWN
            return self._tap(event.pos)
        return None

    def _tap(self, pos: tuple[int, int]) -> UiInput | None:
        """What a tap (finger or mouse) at ``pos`` means on the screen shown."""
        if self.operator_corner.collidepoint(pos):
            return OPERATOR
        frame = self._frame
        if frame is None:
            return None
        for key, rect in frame.key_rects:
            if rect.collidepoint(pos):
                return UiInput(InputKind.KEY, key)
        if frame.button_rect is not None and frame.button_rect.collidepoint(pos):
            return BUTTON
        if frame.retake_rect is not None and frame.retake_rect.collidepoint(pos):
            return RETAKE
        return None

    # -- for tests and screenshots ----------------------------------------------------------------
    @property
    def surface(self) -> Any:
        """The screen surface as last drawn."""
        return self._screen

    @property
    def button_rect(self) -> Any | None:
        """Where the on-screen button is (a tap there is the big button), if the view has one."""
        return self._frame.button_rect if self._frame else None

    @property
    def operator_corner(self) -> Any:
        """The discreet top-left corner: a tap there asks for the operator's keypad. 72 x 72 (base
        pixels, scaled): at least 9 mm square on the 7" panels (the header alone, 53 tall, was 7.3 mm
        on the official Touch Display), and above every key, button and photo (those start lower)."""
        return self._pg.Rect(0, 0, self._px(72), self._px(72))

    @property
    def key_rects(self) -> list[tuple[str, Any]]:
        """(key id, rect) of each key of the last view that takes a tap (enabled keys only)."""
        return list(self._frame.key_rects) if self._frame else []

    @property
    def retake_rect(self) -> Any | None:
        """Where the on-screen Retake area is (passed photos on the review screen only)."""
        return self._frame.retake_rect if self._frame else None

    @property
    def image_rect(self) -> Any | None:
        """Where the preview or the photo was drawn last (screen pixels), if the view had one."""
        return self._frame.image_rect if self._frame else None

    @property
    def text_rects(self) -> list[tuple[str, Any]]:
        """Every text drawn for the last view, with the rect of its ink (screen pixels)."""
        number = [("countdown", self._number_rect)] if self._number_rect is not None else []
        return [*self._texts, *number]

    @property
    def cut_texts(self) -> list[str]:
        """Texts of the last view that did not fit even at ``MIN_TEXT_PX`` (and were left out)."""
        return list(self._cut)

    def screenshot(self, path: str | os.PathLike[str]) -> None:
        self._pg.image.save(self._screen, os.fspath(path))

    # -- layout -----------------------------------------------------------------------------------
    def _px(self, base: float) -> int:
        return max(1, round(base * self._u))

    def _split(self, body: Any, share: float, gap: int) -> tuple[Any, Any]:
        """``body`` cut in two, ``share`` of it first: side by side, or one above the other in portrait."""
        pg = self._pg
        if self.portrait:
            first_h = int((body.height - gap) * share)
            return (pg.Rect(body.left, body.top, body.width, first_h),
                    pg.Rect(body.left, body.top + first_h + gap, body.width, body.height - first_h - gap))
        first_w = int((body.width - gap) * share)
        return (pg.Rect(body.left, body.top, first_w, body.height),
                pg.Rect(body.left + first_w + gap, body.top, body.width - first_w - gap, body.height))

    def _compose(self, view: View) -> _Frame:
        pg = self._pg
        static = pg.Surface(self.size).convert()
        static.fill(BACKGROUND)
        top = self._header(static, view)
        body = pg.Rect(0, top, self.size[0], self.size[1] - top)
        if view.screen == Screen.COUNTDOWN:
            return self._countdown_layout(static, body, view)
        if view.keys:
            return self._keys_layout(static, body, view)
        if view.qr_text:
            return self._qr_layout(static, body, view)
        if view.image is not None:
            return self._photo_layout(static, body, view)
        return self._text_layout(static, body, view)

    def _header(self, surface: Any, view: View) -> int:
        pg = self._pg
        height, strip = self._px(46), self._px(7)
        surface.fill(HEADER_BG, pg.Rect(0, 0, self.size[0], height))
        surface.fill(TONE_COLOURS[view.tone], pg.Rect(0, height, self.size[0], strip))
        px = self._px(22)
        now = dt.datetime.now().strftime("%H:%M")
        clock = self._fonts.render(now, px, HEADER_INK)
        clock_at = clock.get_rect(midright=(self.size[0] - self._px(18), height // 2))
        surface.blit(clock, clock_at)
        self._texts.append((now, clock.get_bounding_rect().move(clock_at.topleft)))
        if view.status:
            room = pg.Rect(self._px(18), 0, clock_at.left - self._px(36), height)
            self._stack(surface, room, [(view.status, px, HEADER_INK, 0)], centre=False, middle=True)
        return height + strip

    def _rows(self, pieces: list[_Piece], width: int, scale: float) -> list[tuple[str, int, Any, int, bool]]:
        """Wrapped rows (text, px, colour, height, first row of its piece) at ``scale`` of each size."""
        rows: list[tuple[str, int, Any, int, bool]] = []
        for text, px, colour, gap in pieces:
            if not text:
                continue
            size = max(min(px, MIN_TEXT_PX), round(px * scale))
            line_h = self._fonts.font(size).get_linesize()
            for index, line in enumerate(self._fonts.wrap(text, size, width)):
                rows.append((line, size, colour, line_h, index == 0))
            last = rows[-1]
            rows[-1] = (*last[:3], last[3] + round(gap * scale), last[4])
        return rows

    def _fitted_rows(self, pieces: list[_Piece], width: int, height: int
                     ) -> list[tuple[str, int, Any, int, bool]]:
        """The rows at the largest scale (<= 1) whose height fits ``height``, or at the smallest."""
        scale = 1.0
        largest = max((px for _, px, _, _ in pieces), default=0)
        while True:
            rows = self._rows(pieces, width, scale)
            if sum(row[3] for row in rows) <= height or largest * scale <= MIN_TEXT_PX:
                return rows
            scale *= _SHRINK_STEP

    def _stack(self, surface: Any, rect: Any, pieces: Iterable[_Piece], *, centre: bool = True,
               middle: bool = False, bullet: tuple[int, int, int] | None = None) -> int:
        """Draw text pieces (text, px, colour, gap after) top-down in ``rect``; returns the bottom.

        Each piece is wrapped to the width; when they do not fit the height, all are shrunk together
        (down to ``MIN_TEXT_PX``). With ``bullet``, every second piece (a zh/en pair) gets a dot.
        """
        chosen = [piece for piece in pieces if piece[0]]
        indent = self._px(34) if bullet else 0
        rows = self._fitted_rows(chosen, rect.width - indent, rect.height)
        total = sum(row[3] for row in rows)
        y = rect.top + max(0, (rect.height - total) // 2) if middle else rect.top
        piece_index = -1
        for text, px, colour, line_h, first in rows:
            piece_index += first
            rendered = self._fonts.render(text, px, colour)
            ink = rendered.get_bounding_rect()
            if y + ink.bottom > rect.bottom:
                self._cut.append(text)
                log.warning("display: %r does not fit at %d px on a %dx%d screen", text, px, *self.size)
                continue
            x = rect.centerx - rendered.get_width() // 2 if centre else rect.left + indent
            if bullet and first and piece_index % 2 == 0:
                dot = max(3, px // 3)
                self._pg.draw.circle(surface, bullet, (rect.left + dot + self._px(4), y + line_h // 2), dot)
            surface.blit(rendered, (x, y))
            self._texts.append((text, ink.move(x, y)))
            y += line_h
        return y

    def _title(self, view: View, zh_px: int, en_px: int, width: int) -> list[_Piece]:
        colour = INK if view.tone == Tone.INFO else TONE_COLOURS[view.tone]
        zh = self._fonts.fit(view.title.zh, self._px(zh_px), width)
        return [(view.title.zh, zh, colour, self._px(4)),
                (view.title.en, self._px(en_px), MUTED, self._px(22))]

    def _lines(self, view: View, zh_px: int, en_px: int) -> list[_Piece]:
        """Each line's Chinese, then its English; a line the same in both (a name and a masked ID
        number, a name and a class) is drawn once, not twice, the second time smaller."""
        pieces: list[_Piece] = []
        for line in view.lines:
            if line.en == line.zh:
                pieces.append((line.zh, self._px(zh_px), INK, self._px(14)))
                continue
            pieces.append((line.zh, self._px(zh_px), INK, self._px(2)))
            pieces.append((line.en, self._px(en_px), MUTED, self._px(14)))
        return pieces

    def _button(self, surface: Any, view: View, centre_x: int, bottom: int, width: int) -> Any | None:
        if view.button is None:
            return None
        rect = self._pg.Rect(0, 0, width, self._px(104))
        rect.midbottom = (centre_x, bottom)
        self._pill(surface, rect, view.button, TONE_COLOURS[view.tone], filled=True)
        return rect

    def _pill(self, surface: Any, rect: Any, label: Text, colour: tuple[int, int, int], *, filled: bool) -> None:
        pg = self._pg
        radius = rect.height // 2
        if filled:
            pg.draw.rect(surface, (200, 206, 214), rect.move(0, self._px(4)), border_radius=radius)
            pg.draw.rect(surface, colour, rect, border_radius=radius)
        else:
            pg.draw.rect(surface, WHITE, rect, border_radius=radius)
            pg.draw.rect(surface, colour, rect, width=max(2, self._px(4)), border_radius=radius)
        ink, sub = (WHITE, WHITE) if filled else (colour, MUTED)
        inner = rect.inflate(-radius, -self._px(14))
        zh_px = self._fonts.fit(label.zh, self._px(40), inner.width)
        self._stack(surface, inner, [(label.zh, zh_px, ink, 0), (label.en, self._px(21), sub, 0)], middle=True)

    def _text_layout(self, surface: Any, body: Any, view: View) -> _Frame:
        pg = self._pg
        margin = self._px(40)
        area = body.inflate(-2 * margin, -2 * self._px(22))
        button = self._button(surface, view, area.centerx, area.bottom, min(self._px(640), area.width))
        text_bottom = (button.top - self._px(20)) if button is not None else area.bottom
        text_area = pg.Rect(area.left, area.top, area.width, text_bottom - area.top)
        pieces = self._title(view, 66, 30, text_area.width) + self._lines(view, 32, 21)
        badge = self._px(92)
        needed = sum(row[3] for row in self._rows(pieces, text_area.width, 1.0))
        if needed + badge + self._px(18) > text_area.height:  # the symbol goes before any text shrinks
            self._stack(surface, text_area, pieces, middle=True)
            return _Frame(static=surface, button_rect=button)
        top = text_area.top + (text_area.height - needed - badge - self._px(18)) // 2
        self._badge(surface, (text_area.centerx, top + badge // 2), badge // 2, view)
        top += badge + self._px(18)
        self._stack(surface, pg.Rect(text_area.left, top, text_area.width, text_bottom - top), pieces)
        return _Frame(static=surface, button_rect=button)

    def _badge(self, surface: Any, centre: tuple[int, int], radius: int, view: View) -> None:
        """A symbol above the title that reads without words: card, button, tick, exclamation, dots."""
        pg = self._pg
        colour = TONE_COLOURS[view.tone]
        cx, cy = centre
        line = max(3, radius // 6)
        if view.screen == Screen.READY:  # the big button, seen from above
            pg.draw.circle(surface, colour, centre, radius, width=line)
            pg.draw.circle(surface, colour, centre, int(radius * 0.62))
            return
        if view.screen == Screen.IDLE:
            # An ID card: a rounded rectangle, the photo square and two text lines.
            card = pg.Rect(0, 0, int(radius * 2.3), int(radius * 1.45))
            card.center = centre
            pg.draw.rect(surface, colour, card, width=line, border_radius=radius // 5)
            photo = pg.Rect(card.left + line * 2, card.top + line * 2, card.height // 2, card.height - line * 4)
            pg.draw.rect(surface, colour, photo, border_radius=line)
            for row in (0.35, 0.6):
                y = card.top + int(card.height * row)
                pg.draw.line(surface, colour, (photo.right + line * 2, y), (card.right - line * 2, y), line)
            return
        pg.draw.circle(surface, colour, centre, radius)
        if view.tone == Tone.OK:
            points = [(cx - radius * 0.45, cy + radius * 0.02), (cx - radius * 0.12, cy + radius * 0.35),
                      (cx + radius * 0.48, cy - radius * 0.32)]
            pg.draw.lines(surface, WHITE, False, points, max(4, radius // 5))
        elif view.tone in (Tone.WARN, Tone.BAD):
            bar = pg.Rect(0, 0, max(4, radius // 5), int(radius * 0.85))
            bar.midtop = (cx, cy - int(radius * 0.6))
            pg.draw.rect(surface, WHITE, bar, border_radius=bar.width // 2)
            pg.draw.circle(surface, WHITE, (cx, cy + int(radius * 0.5)), max(3, radius // 8))
        else:  # info: three dots, "one moment"
            for dx in (-0.4, 0.0, 0.4):
                pg.draw.circle(surface, WHITE, (cx + int(radius * dx), cy), max(3, radius // 8))

    def _countdown_layout(self, surface: Any, body: Any, view: View) -> _Frame:
        pg = self._pg
        pad = self._px(16)
        preview, side = self._split(body.inflate(-2 * pad, -2 * pad), 0.62 if self.portrait else 0.655,
                                    self._px(24))
        surface.fill(PREVIEW_BG, preview)
        if view.image is None:
            self._stack(surface, preview, [(NO_CAMERA.zh, self._px(34), HEADER_INK, self._px(4)),
                                           (NO_CAMERA.en, self._px(22), HEADER_INK, 0)], middle=True)
        title_area = pg.Rect(side.left, side.top, side.width, side.height // 3)
        bottom = self._stack(surface, title_area, self._title(view, 38, 20, side.width))
        number_h = min(self._px(230), (side.bottom - bottom) // 2)
        number_centre = (side.centerx, bottom + number_h // 2)
        guide_area = pg.Rect(side.left, bottom + number_h, side.width, side.bottom - bottom - number_h)
        self._stack(surface, guide_area, self._lines(view, 26, 18))
        return _Frame(static=surface, image_area=preview, countdown_center=number_centre,
                      countdown_px=max(MIN_TEXT_PX, min(self._px(210), int(number_h / 1.1))),
                      mirror=self._mirror_preview, guide=True)

    def _photo_layout(self, surface: Any, body: Any, view: View) -> _Frame:
        pg = self._pg
        pad = self._px(24)
        photo, side = self._split(body.inflate(-2 * pad, -2 * pad), 0.55 if self.portrait else 0.34,
                                  self._px(36))
        retake = None
        if view.screen == Screen.REVIEW and view.tone == Tone.OK and view.button is not None:
            retake = pg.Rect(side.left, 0, side.width * 2 // 5 - self._px(8), self._px(104))
            retake.bottom = side.bottom
            self._pill(surface, retake, RETAKE_LABEL, MUTED, filled=False)
            keep_left = retake.right + self._px(16)
            button = self._button(surface, view, (keep_left + side.right) // 2, side.bottom,
                                  side.right - keep_left)
        else:
            button = self._button(surface, view, side.centerx, side.bottom, side.width)
        text_bottom = (button.top - self._px(16)) if button is not None else side.bottom
        title_area = pg.Rect(side.left, side.top, side.width, (text_bottom - side.top) // 2)
        bottom = self._stack(surface, title_area, self._title(view, 46, 22, side.width), centre=False)
        pieces = [piece for line in view.lines for piece in ((line.zh, self._px(29), INK, self._px(2)),
                                                             (line.en, self._px(19), MUTED, self._px(16)))]
        self._stack(surface, pg.Rect(side.left, bottom, side.width, text_bottom - bottom), pieces,
                    centre=False, bullet=TONE_COLOURS[view.tone])
        return _Frame(static=surface, image_area=photo, button_rect=button, retake_rect=retake)

    def _keys_layout(self, surface: Any, body: Any, view: View) -> _Frame:
        """The keypad and the operator menu: title and lines beside (portrait: above) a grid of keys,
        ``view.key_columns`` a row, each at most as tall as the big button."""
        pg = self._pg
        pad = self._px(20)
        inner = body.inflate(-2 * pad, -2 * pad)
        columns = max(1, view.key_columns)
        rows = -(-len(view.keys) // columns)
        gap, split_gap = self._px(14), self._px(28)
        # The keys take up to 70 % (portrait: of the height) or 60 % (of the width), never more than
        # they need (rows of 104, columns of 300): a page of few keys leaves its text the room (the
        # health page's one Back key took 70 % of a portrait screen and squeezed six lines to 12 px).
        if self.portrait:
            needed = rows * self._px(104) + (rows - 1) * gap
            share = 1 - min(0.7, needed / max(1, inner.height - split_gap))
        else:
            needed = columns * self._px(300) + (columns - 1) * gap
            share = 1 - min(0.6, needed / max(1, inner.width - split_gap))
        text, keys_area = self._split(inner, share, split_gap)
        self._stack(surface, text, self._title(view, 46, 22, text.width) + self._lines(view, 28, 19), centre=False,
                    middle=True)
        width = (keys_area.width - gap * (columns - 1)) // columns
        height = min(self._px(104), (keys_area.height - gap * (rows - 1)) // rows)
        top = keys_area.top + (keys_area.height - rows * height - (rows - 1) * gap) // 2
        rects: list[tuple[str, Any]] = []
        for index, key in enumerate(view.keys):
            row, column = divmod(index, columns)
            rect = pg.Rect(keys_area.left + column * (width + gap), top + row * (height + gap), width, height)
            self._key(surface, rect, key)
            if key.enabled:
                rects.append((key.id, rect))
        return _Frame(static=surface, key_rects=tuple(rects))

    def _key(self, surface: Any, rect: Any, key: Key) -> None:
        if not key.enabled:
            self._pill(surface, rect, key.label, DISABLED, filled=False)
        else:
            self._pill(surface, rect, key.label, TONE_COLOURS[Tone.INFO], filled=key.primary)

    def _qr_layout(self, surface: Any, body: Any, view: View) -> _Frame:
        pg = self._pg
        pad = self._px(28)
        left, card = self._split(body.inflate(-2 * pad, -2 * pad), 0.45 if self.portrait else 0.58, 2 * pad)
        button = self._button(surface, view, left.centerx, left.bottom, left.width)
        text_bottom = (button.top - self._px(16)) if button is not None else left.bottom
        text_area = pg.Rect(left.left, left.top, left.width, text_bottom - left.top)
        self._stack(surface, text_area, self._title(view, 46, 22, left.width) + self._lines(view, 30, 19),
                    centre=False)
        pg.draw.rect(surface, WHITE, card, border_radius=self._px(16))
        pg.draw.rect(surface, (210, 216, 224), card, width=max(1, self._px(2)), border_radius=self._px(16))
        caption_h = self._px(84)
        code_area = pg.Rect(card.left, card.top, card.width, card.height - caption_h).inflate(
            -self._px(20), -self._px(20))
        qr = self._qr_surface(view.qr_text or "", min(code_area.width, code_area.height))
        surface.blit(qr, qr.get_rect(center=code_area.center))
        caption = pg.Rect(card.left + self._px(10), card.bottom - caption_h, card.width - self._px(20),
                          caption_h - self._px(10))
        self._stack(surface, caption, [(QR_CAPTION.zh, self._px(26), INK, self._px(2)),
                                       (QR_CAPTION.en, self._px(17), MUTED, 0)], middle=True)
        return _Frame(static=surface, button_rect=button)

    def _qr_surface(self, text: str, side: int) -> Any:
        modules = qr_modules(text).shape[0]
        module_px = max(2, side // modules)  # whole pixels per module: sharp edges for the phone
        key = (text, module_px)
        cached = self._qr_cache.get(key)
        if cached is None:
            rgb = np.ascontiguousarray(qr_rgb(text, module_px))
            cached = self._pg.image.frombuffer(rgb.tobytes(), (rgb.shape[1], rgb.shape[0]), "RGB").copy()
            self._qr_cache = {key: cached}
        return cached

    # -- per-frame parts --------------------------------------------------------------------------
    def _draw_image(self, image: Any, frame: _Frame) -> None:
        rgb = _as_rgb(image)
        if rgb is None:
            return
        pg = self._pg
        rect = _fit((rgb.shape[1], rgb.shape[0]), frame.image_area, pg.Rect)
        fast = frame.guide  # live preview: speed over smoothness; photos: area filter
        scaled = cv2.resize(rgb, rect.size, interpolation=cv2.INTER_LINEAR if fast else cv2.INTER_AREA)
        if frame.mirror:
            scaled = cv2.flip(scaled, 1)  # a mirror is what people expect; the saved file is never mirrored
        scaled = np.ascontiguousarray(scaled)
        picture = pg.image.frombuffer(scaled.data, rect.size, "RGB")
        if not frame.guide:
            border = self._px(6)
            pg.draw.rect(self._screen, (200, 206, 214), rect.inflate(2 * border, 2 * border).move(0, 3))
            pg.draw.rect(self._screen, WHITE, rect.inflate(2 * border, 2 * border))
        self._screen.blit(picture, rect)
        frame.image_rect = rect
        if frame.guide:
            self._screen.blit(self._guide(rect.size), rect)

    def _guide(self, size: tuple[int, int]) -> Any:
        """The CHSI crop over a preview of ``size``: the 3:4 window (full height), outside it shaded,
        and, at the crop's scale, the crown and eye-line bands across it and the face-width band
        (its narrow and wide ends) at the eye line, with a head outline at the bands' middles."""
        cached = self._guides.get(size)
        if cached is not None:
            return cached
        pg = self._pg
        width, height = size
        overlay = pg.Surface(size, pg.SRCALPHA)
        frame_w = min(width, int(height * OUT_W / OUT_H))
        frame = pg.Rect((width - frame_w) // 2, 0, frame_w, height)
        shade = (0, 0, 0, GUIDE_SHADE)
        overlay.fill(shade, pg.Rect(0, 0, frame.left, height))
        overlay.fill(shade, pg.Rect(frame.right, 0, width - frame.right, height))
        scale = height / OUT_H  # preview pixels per output pixel

        def y(out: float) -> int:
            return round(out * scale)

        def x(out: float) -> int:
            return frame.centerx + round(out * scale)

        for low, high in (CROWN_BAND, EYE_BAND):
            overlay.fill(GUIDE_BAND, pg.Rect(frame.left, y(low), frame.width, y(high) - y(low)))
        line = max(2, self._px(4))
        crown, eyes = sum(CROWN_BAND) / 2, sum(EYE_BAND) / 2
        face_w = sum(FACE_WIDTH_BAND) / 2
        head = pg.Rect(0, 0, x(face_w / 2) - x(-face_w / 2), 2 * (y(eyes) - y(crown)))
        head.midtop = (frame.centerx, y(crown))
        pg.draw.ellipse(overlay, (0, 0, 0, 120), head.inflate(line * 2, line * 2), width=line)
        pg.draw.ellipse(overlay, GUIDE_LINE, head, width=line)
        tick = max(4, y(EYE_BAND[1]) - y(EYE_BAND[0])) // 3
        for half_width in (FACE_WIDTH_BAND[0] / 2, FACE_WIDTH_BAND[1] / 2):
            for side in (-1, 1):
                at = x(side * half_width)
                pg.draw.line(overlay, GUIDE_LINE, (at, y(eyes) - tick), (at, y(eyes) + tick), line)
        self._guides = {size: overlay}
        return overlay
