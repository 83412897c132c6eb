"""The payment QR code as a module matrix (segno), ready to be scaled into any surface."""

from __future__ import annotations

import numpy as np
import segno

QUIET_ZONE = 4  # modules of white border the QR standard asks for


def qr_modules(text: str) -> np.ndarray:
    """Dark modules as True, quiet zone included (error correction M: survives a glossy screen)."""
    code = segno.make_qr(text, error="m", boost_error=False)  # never Micro QR: phones cannot read it
    rows = list(code.matrix_iter(scale=1, border=QUIET_ZONE))
    return np.array(rows, dtype=bool)


def qr_rgb(text: str, module_px: int) -> np.ndarray:
    """An RGB image of the code, ``module_px`` pixels per module, black on white."""
    modules = qr_modules(text)
    gray = np.where(modules, 0, 255).astype(np.uint8)
    big = np.repeat(np.repeat(gray, module_px, axis=0), module_px, axis=1)
    return np.repeat(big[:, :, None], 3, axis=2)
