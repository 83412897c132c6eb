"""CSV files the office opens in Excel: UTF-8 with a BOM, ID numbers kept as text, no formulas.

Excel reads a BOM-less UTF-8 CSV as the system code page (GBK on a Chinese Windows: the names turn
to mojibake) and a long digit run as a number (110105200401010012 becomes 1.10105E+17, the last
digits lost). An ID number is therefore written as the text formula ``="..."``, which Excel shows
as the digits and keeps as text. Any other cell that starts with ``=``, ``+``, ``-``, ``@`` (a name
typed into a roster) gets a leading apostrophe so Excel never runs it (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from boothcore.money import cny

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_text(value: str) -> str:
    """A cell Excel keeps as text: ``="110105200401010012"``."""
    return '="' + value.replace('"', '""') + '"'


def from_excel_text(cell: str) -> str:
    """The value of an ``excel_text`` cell (for readers of our own files)."""
    if cell.startswith('="') and cell.endswith('"'):
        return cell[2:-1].replace('""', '"')
    return cell


def _safe(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]], *, text_columns: Iterable[str] = (),
             money_columns: Iterable[str] = ()) -> str:
    """The whole file as text (BOM first); ``text_columns`` are written with ``excel_text``, the
    amounts in ``money_columns`` as the pages show them (``boothcore.money.cny``; an empty cell stays empty)."""
    as_text = {header.index(name) for name in text_columns}
    as_money = {header.index(name) for name in money_columns}
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([excel_text(str(value)) if index in as_text
                         else cny(value) if index in as_money and isinstance(value, int | float)
                         else _safe(value) for index, value in enumerate(row)])
    return out.getvalue()
