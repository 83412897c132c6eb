"""Amounts of money as people read them: yuan with two decimals ("240.00"), the same on the
booth's screens, the office's pages and its CSV files (a fee of 12 x 20 CNY is never "240.0")."""

from __future__ import annotations


def cny(amount: float) -> str:
    """``amount`` in yuan with two decimals: 240 -> "240.00", 19.5 -> "19.50"."""
    return f"{amount:.2f}"
