"""Finding a font that has Chinese glyphs, so titles never render as empty boxes ("tofu").

Debian's fonts-wqy-microhei (in the Makefile's APT_PACKAGES) is the first choice; it also carries
Latin glyphs, so one face serves both the Chinese and the English line.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

# Checked in order; the first existing file wins. BOOTH_CJK_FONT overrides all of them.
KNOWN_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


def _fontconfig_cjk() -> str | None:
    """Ask fontconfig for any installed font covering Chinese (``fc-list :lang=zh``)."""
    if not shutil.which("fc-list"):
        return None
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                             timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    return files[0] if files else None


def find_cjk_font() -> str | None:
    """Path of a font with Chinese glyphs, or None (logged once, loudly) when there is none."""
    override = os.environ.get("BOOTH_CJK_FONT")
    if override:
        if Path(override).is_file():
            return override
        log.warning("BOOTH_CJK_FONT=%s does not exist; looking for a system font", override)
    for candidate in KNOWN_CJK_FONTS:
        if Path(candidate).is_file():
            return candidate
    found = _fontconfig_cjk()
    if found:
        return found
    log.error("no Chinese font found (tried %s and fc-list :lang=zh): Chinese text will show as "
              "boxes; install the Debian package fonts-wqy-microhei", ", ".join(KNOWN_CJK_FONTS))
    return None
