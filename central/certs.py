"""Fleet certificates: two CAs, the broker's server certificate, and one client certificate per identity.

The broker maps a client certificate's CN to the MQTT user name (``use_identity_as_username``) and,
on the booths' listener, the user name to the client id (``use_username_as_clientid``): the CN of a
booth certificate is its booth id, the ACL's ``%u`` confines it to its own topics and it cannot
take another booth's session. The central service connects on its own listener, which trusts only
the central CA (``central-ca.crt``), so a booth certificate cannot even complete the handshake
there. Uses the ``openssl`` command line (Debian package ``openssl``): no extra Python package.

    python -m central.certs DIR --booth booth-01 --booth booth-02   # CAs, broker, central, booths
    python -m central.certs DIR --add --booth booth-03              # one more booth, same CA
    python -m central.certs DIR --revoke booth-02                   # a lost booth: new ca.crl

Nothing is overwritten unless ``--force`` is given: a new CA makes every deployed certificate fail
to verify, a new key makes the certificate issued for the old one useless.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from boothcore.protocol import BOOTH_ID_PATTERN, BOOTH_ID_RULE
from boothcore.tls import OpensslError, openssl

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
_BOOTH = re.compile(BOOTH_ID_PATTERN)
DEFAULT_DAYS = 3650
CA, CENTRAL_CA = "ca", "central-ca"
# The fleet CA's revocation list (the booth listener's crlfile) and its openssl ca bookkeeping.
CRL, CRL_INDEX, CRL_NUMBER = "ca.crl", "ca.index", "ca.crlnumber"
# OpenSSL refuses every certificate once the CRL's Next Update has passed: it is rewritten on each
# revocation, and lasts as long as the certificates themselves.
CRL_DAYS = 3650
# Not booth ids: the CA and broker files, and the central service's certificate and MQTT client ids
# (central, central-ingest-<n>, central-ingest-cmd-<x>: a booth's client id is its CN, and one
# client id per broker).
RESERVED_NAMES = (CA, "broker")
RESERVED_PREFIX = "central"


class CertError(RuntimeError):
    """openssl is missing or refused to issue a certificate."""


class WouldOverwrite(CertError):
    """An existing CA or key would be replaced; the message names what would be lost."""


@dataclass(frozen=True)
class TlsFiles:
    """The three files one TLS endpoint needs: the CA that signs its peers, its certificate, its key."""

    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    try:
        openssl(*args)
    except OpensslError as error:
        raise CertError(str(error)) from None


def _issued_by_folder(folder: Path) -> list[str]:
    """The client and server certificates in ``folder`` (what a new CA would orphan)."""
    return sorted(path.stem for path in folder.glob("*.crt") if path.stem not in (CA, CENTRAL_CA))


def _refuse_overwrite(folder: Path, name: str, *, is_ca: bool) -> None:
    existing = [path for path in (folder / f"{name}.key", folder / f"{name}.crt") if path.exists()]
    if not existing:
        return
    listed = " and ".join(str(path) for path in existing)
    if is_ca:
        issued = _issued_by_folder(folder)
        lost = (f"every certificate issued with it ({', '.join(issued)}) would fail to verify, on every "
                "booth and at central" if issued else "every certificate issued with it would fail to verify")
        hint = "use --add --booth ID to issue more certificates with it, or --force to replace it"
    else:
        lost = f"the deployed {name}.crt/{name}.key pair would stop working where it is installed"
        hint = "use --force to issue a new key and certificate for it"
    raise WouldOverwrite(f"{listed} exist(s): {lost}; nothing written ({hint})")


def make_ca(folder: Path, *, name: str = CA, cn: str = "diploma-booth fleet CA", days: int = DEFAULT_DAYS,
            force: bool = False) -> TlsFiles:
    """Create ``<name>.crt``/``<name>.key`` in ``folder`` (the CA signs itself; cert and ca are the same).

    Raises WouldOverwrite when the CA exists and ``force`` is False.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if not force:
        _refuse_overwrite(folder, name, is_ca=True)
    key, crt = folder / f"{name}.key", folder / f"{name}.crt"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(crt), "-days", str(days), "-subj", f"/CN={cn}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    key.chmod(0o600)
    return TlsFiles(ca=crt, cert=crt, key=key)


def existing_ca(folder: Path, name: str = CA) -> TlsFiles:
    """The CA already in ``folder``; CertError naming the missing file otherwise."""
    files = TlsFiles(ca=folder / f"{name}.crt", cert=folder / f"{name}.crt", key=folder / f"{name}.key")
    for path in (files.cert, files.key):
        if not path.is_file():
            raise CertError(f"{path} not found: create the fleet first (python -m central.certs {folder})")
    return files


def check_booth_name(name: str) -> str:
    """A booth id usable as a certificate CN and MQTT client id; CertError otherwise."""
    if not _BOOTH.match(name):
        raise CertError(f"bad booth id {name!r}: {BOOTH_ID_RULE}")
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIX):
        raise CertError(f"booth id {name!r} is reserved ({', '.join(RESERVED_NAMES)} and names starting "
                        f"with {RESERVED_PREFIX!r} belong to the CA, the broker and the central service)")
    return name


def issue(ca: TlsFiles, folder: Path, name: str, *, server_hosts: tuple[str, ...] = (),
          days: int = DEFAULT_DAYS, peer_ca: Path | None = None, force: bool = False) -> TlsFiles:
    """Issue ``<name>.crt``/``<name>.key`` signed by ``ca`` with CN = ``name``.

    ``server_hosts`` makes it a server certificate with those DNS names / IP addresses as SANs
    (the broker); without it, a client certificate (a booth id or ``central``). ``peer_ca`` is the
    CA the endpoint verifies its peer with (default: ``ca``). Raises WouldOverwrite when the key or
    certificate exists and ``force`` is False.
    """
    if not _NAME.match(name):
        raise CertError(f"certificate name {name!r} must match {_NAME.pattern}")
    folder.mkdir(parents=True, exist_ok=True)
    if not force:
        _refuse_overwrite(folder, name, is_ca=False)
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
    return TlsFiles(ca=peer_ca or ca.cert, cert=crt, key=key)


def write_crl(folder: Path, *, revoke: tuple[str, ...] = ()) -> Path:
    """(Re)write ``ca.crl``, the fleet CA's revocation list, after revoking ``<name>.crt`` of each name.

    The broker's booth listener checks it (``crlfile``): a revoked booth certificate fails the TLS
    handshake. The list is replaced atomically; CertError when a certificate is missing or
    already revoked (nothing is written then).
    """
    ca = existing_ca(folder)
    for name in revoke:
        if not (folder / f"{name}.crt").is_file():
            raise CertError(f"{folder / f'{name}.crt'} not found: nothing to revoke")
    index, number = folder / CRL_INDEX, folder / CRL_NUMBER
    if not index.exists():
        index.touch()
    if not number.exists():
        number.write_text("01\n", encoding="ascii")
    config = (f"[ca]\ndefault_ca = fleet\n[fleet]\ndatabase = {index}\ncrlnumber = {number}\n"
              f"default_md = sha256\ndefault_crl_days = {CRL_DAYS}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".cnf", dir=folder, delete=False) as cnf:
        cnf.write(config)
    signing = ("-config", cnf.name, "-keyfile", str(ca.key), "-cert", str(ca.cert))
    crl, partial = folder / CRL, folder / f"{CRL}.partial"
    try:
        for name in revoke:
            _openssl("ca", *signing, "-revoke", str(folder / f"{name}.crt"))
        _openssl("ca", *signing, "-gencrl", "-out", str(partial))
        os.replace(partial, crl)
    finally:
        Path(cnf.name).unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return crl


def make_fleet(folder: Path, booths: list[str], *, broker_hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
               force: bool = False) -> dict[str, TlsFiles]:
    """The fleet CA, the central CA, ``broker``, ``central`` and one certificate per booth id.

    Keys: ``ca``, ``central-ca``, ``broker``, ``central`` and the booth ids. ``central`` is signed by
    the central CA and verifies the broker with the fleet CA. Refuses (WouldOverwrite, before
    writing anything) when any of these files exist, unless ``force``.
    """
    for booth in booths:
        check_booth_name(booth)
    if not force:
        _refuse_overwrite(folder, CA, is_ca=True)
        _refuse_overwrite(folder, CENTRAL_CA, is_ca=True)
        for name in ("broker", "central", *booths):
            _refuse_overwrite(folder, name, is_ca=False)
    ca = make_ca(folder, force=force)
    for stale in (CRL_INDEX, CRL_NUMBER):  # revocations of a replaced CA mean nothing to the new one
        for path in folder.glob(f"{stale}*"):
            path.unlink()
    write_crl(folder)
    central_ca = make_ca(folder, name=CENTRAL_CA, cn="diploma-booth central CA", force=force)
    files = {"ca": ca, CENTRAL_CA: central_ca,
             "broker": issue(ca, folder, "broker", server_hosts=broker_hosts, force=force),
             "central": issue(central_ca, folder, "central", peer_ca=ca.cert, force=force)}
    for booth in booths:
        files[booth] = issue(ca, folder, booth, force=force)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m central.certs", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--booth", action="append", default=[], help="booth id (repeatable)")
    parser.add_argument("--broker-host", action="append", default=[], help="broker DNS name or IP")
    parser.add_argument("--add", action="store_true",
                        help="only issue the --booth certificates with the existing CA in FOLDER")
    parser.add_argument("--revoke", action="append", default=[], metavar="ID",
                        help="revoke this booth's certificate: rewrites FOLDER/ca.crl for the broker")
    parser.add_argument("--force", action="store_true",
                        help="replace existing CAs, keys and certificates (deployed ones stop working)")
    args = parser.parse_args(argv)
    try:
        if args.revoke:
            crl = write_crl(args.folder, revoke=tuple(args.revoke))
            print(f"revoked {', '.join(args.revoke)}: copy {crl} to the broker's certificate folder and "
                  "restart mosquitto (its booth listener reads crlfile at start)")
        elif args.add:
            if not args.booth:
                raise CertError("--add needs at least one --booth ID")
            ca = existing_ca(args.folder)
            names = [check_booth_name(booth) for booth in args.booth]
            if not args.force:
                for name in names:
                    _refuse_overwrite(args.folder, name, is_ca=False)
            for name in names:
                issue(ca, args.folder, name, force=args.force)
            if not (args.folder / CRL).exists():  # a fleet made before revocation lists existed
                write_crl(args.folder)
        else:
            make_fleet(args.folder, args.booth, force=args.force,
                       broker_hosts=tuple(args.broker_host) or ("localhost", "127.0.0.1"))
    except CertError as error:
        print(f"certs: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
