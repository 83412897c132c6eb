"""The proof sheet of a class: each photographed student's photo with name, masked ID, capture time
and booth, as a page and as a printable A4 PDF (the notice asks students to verify their image).

Rows go through the user's view (``User.person_name`` / ``User.id_number``), so a PDF printed by
a secretary or a viewer carries masked names and numbers like every other answer. The PDF embeds
the stored JPEG bytes as they are (fpdf2 writes a JPEG as a DCT stream, no re-encoding) and uses
the CJK font the booth uses (``boothcore.fonts``: Debian's fonts-wqy-microhei first).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF

from boothcore.fonts import find_cjk_font
from central.booth_checks import booth_check_rows
from central.paths import UnsafePathError, inside
from central.store import Store
from central.users import User
from central.web.local_time import local_time

# A4 portrait in mm; 5 x 4 photos of 30 x 40 mm (the 480x640 ratio) per page, a caption under each.
PAGE_W, MARGIN = 210.0, 12.0
COLUMNS, ROWS = 5, 4
PHOTO_W, PHOTO_H = 30.0, 40.0
CELL_W, CELL_H = (PAGE_W - 2 * MARGIN) / COLUMNS, 62.0


# fpdf2 subsets the CJK font through fontTools, which logs some 60 INFO lines per PDF (glyph lists,
# tables pruned): at the office's INFO level they buried every other line of the log.
logging.getLogger("fontTools").setLevel(logging.WARNING)


class ProofSheetError(RuntimeError):
    """No CJK font to print Chinese names with (install fonts-wqy-microhei)."""


@dataclass(frozen=True)
class ProofRow:
    photo_id: str
    student_no: str
    name: str
    id_number: str
    captured_at: str
    booth: str
    attempt: int
    booth_checks: tuple[int, int] | None  # (passed, of how many) of the booth's checks; None: not sent


def proof_rows(store: Store, user: User, college: str, class_name: str, zone: ZoneInfo) -> list[ProofRow]:
    """The class's current photos, by student number, in ``user``'s view, capture times in ``zone``."""
    names = {e.id_number: e.name for e in store.roster(college=college, class_name=class_name)}
    return [ProofRow(photo_id=p.photo_id, student_no=p.student_no, name=user.person_name(names.get(p.id_number, "")),
                     id_number=user.id_number(p.id_number), captured_at=local_time(p.captured_at, zone),
                     booth=p.booth, attempt=p.attempt, booth_checks=_passed_of(p.booth_checks))
            for p in store.photos(college=college, class_name=class_name)]


def _passed_of(booth_checks: dict[str, Any] | None) -> tuple[int, int] | None:
    rows = booth_check_rows(booth_checks)
    return None if rows is None else (sum(row.passed for row in rows), len(rows))


def photo_file(store: Store, data_dir: Path, photo_id: str) -> tuple[str, Path] | None:
    """(college, file) of a stored photo, or None for an unknown id or a path outside the photo folder."""
    record = store.photo(photo_id)
    if record is None:
        return None
    root = Path(data_dir) / "photos"
    try:
        return record.college, inside(root, root / record.path)
    except UnsafePathError:
        return None


def proof_sheet_pdf(rows: list[ProofRow], photos: dict[str, bytes], college: str, class_name: str,
                    generated_at: str) -> bytes:
    """The A4 PDF; ``photos`` maps photo_id to its JPEG bytes (a missing one prints as an empty frame);
    ``generated_at`` is printed in the footer as it is (local time and its zone)."""
    font = find_cjk_font()
    if font is None:
        raise ProofSheetError("no CJK font found for the proof sheet: install fonts-wqy-microhei (make setup)")
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_font("cjk", fname=font)
    per_page = COLUMNS * ROWS
    for start in range(0, max(len(rows), 1), per_page):
        pdf.add_page()
        pdf.set_font("cjk", size=13)
        pdf.set_xy(MARGIN, MARGIN)
        pdf.cell(text=f"{college} {class_name} 照片核对表 Proof sheet")
        pdf.set_font("cjk", size=8)
        pdf.set_xy(MARGIN, MARGIN + 7)
        pdf.cell(text=f"请核对本人照片，有误请联系班长 / Check your own photo; tell your class monitor of any "
                      f"error. {generated_at} · {start // per_page + 1}/{max(1, -(-len(rows) // per_page))}")
        for index, row in enumerate(rows[start:start + per_page]):
            x = MARGIN + (index % COLUMNS) * CELL_W + (CELL_W - PHOTO_W) / 2
            y = MARGIN + 14 + (index // COLUMNS) * CELL_H
            data = photos.get(row.photo_id)
            if data:
                pdf.image(io.BytesIO(data), x=x, y=y, w=PHOTO_W, h=PHOTO_H)
            else:
                pdf.rect(x, y, PHOTO_W, PHOTO_H)
            pdf.set_font("cjk", size=7)
            checks = ("设备检测 booth checks " + (f"{row.booth_checks[0]}/{row.booth_checks[1]}" if row.booth_checks
                                                 else "—"))
            for line, text in enumerate((f"{row.student_no} {row.name}", row.id_number,
                                         f"{row.captured_at} {row.booth}", checks)):
                pdf.set_xy(x - (CELL_W - PHOTO_W) / 2, y + PHOTO_H + 1 + line * 3.6)
                pdf.cell(w=CELL_W, h=3.6, text=text, align="C")
    return bytes(pdf.output())
