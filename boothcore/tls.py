"""The booth's TLS identity checked before it is used: readable files, the key matching the certificate,
the certificate issued by the fleet CA to this booth id (CN, as the broker's ``use_identity_as_username``
needs) and not expired.

Python's ``ssl`` loads the files and compares key and certificate; the ``openssl`` command line
(Debian package ``openssl``, also what ``central.certs`` issues them with) reads CN and expiry and
verifies the chain, so no extra Python package is needed.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


class IdentityError(Exception):
    """The TLS files cannot identify this booth; phrased as the line a technician reads."""


@dataclass(frozen=True)
class Certificate:
    subject_cn: str
    not_after: dt.datetime


class OpensslError(RuntimeError):
    """openssl is missing or refused; the message says which (shared with ``central.certs``)."""


# OpenSSL 3's error-stack lines ("80BB5FDFB27F0000:error:1608010C:STORE routines:...:unsupported:...")
# name its source files, not the technician's problem; the lines around them say it.
_ERROR_STACK_LINE = re.compile(r"^[0-9A-F]+:error:[0-9A-F]+:")


def openssl(*args: str) -> str:
    """Run the ``openssl`` command line; its stdout. Raises OpensslError with openssl's complaint on
    one line (its message lines joined by "; ", the error-stack lines left out): it ends in a log line
    or on the "not provisioned" screen."""
    binary = shutil.which("openssl")
    if binary is None:
        raise OpensslError("openssl not found: install the Debian package 'openssl'")
    result = subprocess.run([binary, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines()
                 if line.strip() and not _ERROR_STACK_LINE.match(line.strip())]
        raise OpensslError(f"openssl {args[0]} failed: {'; '.join(lines) or f'exit code {result.returncode}'}")
    return result.stdout


def read_certificate(path: Path) -> Certificate:
    """CN and expiry of a PEM certificate. Raises IdentityError when it is not one."""
    try:
        text = openssl("x509", "-in", str(path), "-noout", "-subject", "-enddate", "-nameopt", "RFC2253")
    except OpensslError as error:
        raise IdentityError(f"{path}: not a PEM certificate ({error})") from None
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    subject = fields.get("subject", "")
    cn = next((part[3:] for part in subject.split(",") if part.startswith("CN=")), "")
    not_after = dt.datetime.strptime(fields["notAfter"], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=dt.UTC)
    return Certificate(cn, not_after)


def check_identity(ca: Path, cert: Path, key: Path, booth_id: str, *, now: dt.datetime | None = None) -> Certificate:
    """Raise IdentityError naming the first problem; return the certificate when all is well."""
    for label, path in (("CA", ca), ("certificate", cert), ("key", key)):
        try:
            path.read_bytes()
        except OSError as error:
            raise IdentityError(f"{label} {path}: cannot read it ({error.strerror})") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=str(ca))
    except ssl.SSLError as error:
        raise IdentityError(f"CA {ca}: not a PEM certificate ({error.reason or error})") from None
    certificate = read_certificate(cert)
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error):
            raise IdentityError(f"key {key} does not match the certificate {cert}: copy the pair issued together "
                                "(python -m central.certs)") from None
        raise IdentityError(f"key {key}: not a usable PEM private key ({error.reason or error})") from None
    if certificate.subject_cn != booth_id:
        raise IdentityError(f"certificate {cert} is for {certificate.subject_cn!r}, not for booth {booth_id!r}: "
                            "the broker would put this booth under another booth's topics")
    moment = now or dt.datetime.now(dt.UTC)
    if certificate.not_after <= moment:
        raise IdentityError(f"certificate {cert} expired on {certificate.not_after:%Y-%m-%d}: issue a new one")
    try:
        openssl("verify", "-CAfile", str(ca), str(cert))
    except OpensslError as error:
        raise IdentityError(f"certificate {cert} was not issued by the CA {ca} ({error})") from None
    return certificate


def client_context(ca: Path | None, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    """The TLS context of an MQTT client: TLS 1.2 or later, the broker's certificate verified against
    ``ca`` (None: the system's trust store) and its host name checked, ``cert``/``key`` presented as
    this client's identity when given.

    What paho's ``tls_set(ca, cert, key, CERT_REQUIRED, PROTOCOL_TLS_CLIENT)`` builds, in one place
    for the booth, the office and ``booth doctor``. Raises ``OSError``/``ssl.SSLError`` for files
    that cannot be read or do not hold a certificate and its key.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    if cert is not None:
        context.load_cert_chain(cert, key)
    if ca is not None:
        context.load_verify_locations(ca)
    else:
        context.load_default_certs()
    return context
