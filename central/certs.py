"""Fleet certificates: a CA, the broker's server certificate, and one client certificate per identity.

The broker maps a client certificate's CN to the MQTT user name (``use_identity_as_username``), so
the CN of a booth certificate is its booth id and the ACL's ``%u`` confines it to its own topics.
Uses the ``openssl`` command line (Debian package ``openssl``) so no extra Python package is needed.

    python -m central.certs DIR --booth booth-01 --booth booth-02   # CA, broker, central, booths
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
DEFAULT_DAYS = 3650


class CertError(RuntimeError):
    """openssl is missing or refused to issue a certificate."""


@dataclass(frozen=True)
class TlsFiles:
    """The three files one TLS endpoint needs: the CA that signs its peers, its certificate, its key."""

    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise CertError("openssl not found: install the Debian package 'openssl'")
    result = subprocess.run([binary, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CertError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def make_ca(folder: Path, *, cn: str = "diploma-booth fleet CA", days: int = DEFAULT_DAYS) -> TlsFiles:
    """Create ``ca.crt``/``ca.key`` in ``folder`` (the CA signs itself; cert and ca are the same)."""
    folder.mkdir(parents=True, exist_ok=True)
    key, crt = folder / "ca.key", folder / "ca.crt"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(crt), "-days", str(days), "-subj", f"/CN={cn}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    key.chmod(0o600)
    return TlsFiles(ca=crt, cert=crt, key=key)


def issue(ca: TlsFiles, folder: Path, name: str, *, server_hosts: tuple[str, ...] = (),
          days: int = DEFAULT_DAYS) -> TlsFiles:
    """Issue ``<name>.crt``/``<name>.key`` signed by ``ca`` with CN = ``name``.

    ``server_hosts`` makes it a server certificate with those DNS names / IP addresses as SANs
    (the broker); without it, a client certificate (a booth id or ``central``).
    """
    if not _NAME.match(name):
        raise CertError(f"certificate name {name!r} must match {_NAME.pattern}")
    folder.mkdir(parents=True, exist_ok=True)
    key, csr, crt = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.crt"
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}")
    key.chmod(0o600)
    if server_hosts:
        sans = ",".join(
            f"IP:{host}" if re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", host) else f"DNS:{host}"
            for host in server_hosts)
        extensions = f"basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName={sans}\n"
    else:
        extensions = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
    with tempfile.NamedTemporaryFile("w", suffix=".ext", dir=folder, delete=False) as ext:
        ext.write(extensions)
    try:
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
                 "-CAcreateserial", "-out", str(crt), "-days", str(days), "-extfile", ext.name)
    finally:
        Path(ext.name).unlink(missing_ok=True)
        csr.unlink(missing_ok=True)
    return TlsFiles(ca=ca.cert, cert=crt, key=key)


def make_fleet(folder: Path, booths: list[str], *, broker_hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
               ) -> dict[str, TlsFiles]:
    """A CA plus ``broker``, ``central`` and one certificate per booth id, all in ``folder``."""
    ca = make_ca(folder)
    files = {"ca": ca, "broker": issue(ca, folder, "broker", server_hosts=broker_hosts),
             "central": issue(ca, folder, "central")}
    for booth in booths:
        files[booth] = issue(ca, folder, booth)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m central.certs", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--booth", action="append", default=[], help="booth id (repeatable)")
    parser.add_argument("--broker-host", action="append", default=[], help="broker DNS name or IP")
    parser.add_argument("--add", action="store_true",
                        help="only issue the --booth certificates with the existing CA in FOLDER")
    args = parser.parse_args(argv)
    try:
        if args.add:
            ca = TlsFiles(ca=args.folder / "ca.crt", cert=args.folder / "ca.crt", key=args.folder / "ca.key")
            for booth in args.booth:
                issue(ca, args.folder, booth)
        else:
            make_fleet(args.folder, args.booth,
                       broker_hosts=tuple(args.broker_host) or ("localhost", "127.0.0.1"))
    except CertError as error:
        print(f"certs: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
