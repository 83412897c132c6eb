"""The operator PIN as an scrypt hash, so a booth.toml read off a card or a backup does not give it away.

Format ``scrypt$<log2 n>$<r>$<p>$<salt, base64>$<key, base64>`` (``hashlib.scrypt``). n = 2**14,
r = 8, p = 1 are the interactive-login parameters of the scrypt paper (Percival 2009; RFC 7914
section 2): 16 MB and tens of milliseconds, paid once per operator action.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

LOG2_N, R, P = 14, 8, 1
KEY_BYTES = 32
SALT_BYTES = 16
# operator.pin and what `booth hash-pin` takes; fullmatch, ASCII digits only (what the keypad types)
PIN_PATTERN = re.compile(r"[0-9]{4,8}")
HASH_PATTERN = re.compile(r"^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]{16,})\$([A-Za-z0-9+/=]{40,})$")


def _derive(pin: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=2 ** log2_n, r=r, p=p, maxmem=256 * 1024 * 1024,
                          dklen=KEY_BYTES)


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """The ``pin_hash`` text for ``pin`` (a new random salt unless one is given)."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = _derive(pin, salt, LOG2_N, R, P)
    return f"scrypt${LOG2_N}${R}${P}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def check_hash_format(text: str) -> str:
    """``text`` when it is a pin_hash this module can verify; ValueError naming the format otherwise."""
    match = HASH_PATTERN.match(text)
    if not match or not (10 <= int(match.group(1)) <= 20):
        raise ValueError("must look like scrypt$14$8$1$<salt>$<key>: make it with `booth hash-pin`")
    return text


def pin_matches(pin_hash: str, pin: str) -> bool:
    """Whether ``pin`` is the PIN ``pin_hash`` was made from (constant-time comparison)."""
    match = HASH_PATTERN.match(pin_hash)
    if match is None:
        return False
    log2_n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    expected = base64.b64decode(match.group(5))
    return hmac.compare_digest(_derive(pin, base64.b64decode(match.group(4)), log2_n, r, p), expected)
