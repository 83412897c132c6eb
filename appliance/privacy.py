"""Masking of personal data (ID numbers, names) before anything reaches a log or a screen dump."""

from __future__ import annotations


def mask_id(id_number: str | None) -> str:
    """Keep the region prefix and the last four characters: 110105********002X."""
    if not id_number:
        return "<none>"
    text = str(id_number)
    if len(text) <= 10:
        return text[:2] + "*" * max(len(text) - 2, 0)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(name: str | None) -> str:
    """Keep the first character (the family name in Chinese): 张** / J***."""
    if not name:
        return "<none>"
    return name[0] + "*" * (len(name) - 1)
