"""A real PostgreSQL server from Debian's packages for the tests (and the benches): ``initdb`` and
``pg_ctl`` in a temporary folder, on a free loopback port, as an unprivileged user.

initdb refuses to run as root (CI runs as root): there the server runs as ``nobody`` through
``setpriv``, with its folder handed over to that user. The cluster is UTF-8 with the C collation,
as ``central.store.check_postgres_database`` asks. ``durable=False`` (the tests) turns fsync off:
no test cuts the server's power; the benches keep it on.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from central.local_broker import free_port

USER = "booth"  # the cluster's superuser (trust authentication on loopback only)


def postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<major>/bin`` (Debian's ``postgresql`` package)."""
    root = Path("/usr/lib/postgresql")
    found = sorted((p for p in root.glob("*/bin") if (p / "initdb").is_file()),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if not found:
        raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
                           "run make setup as root, or apt-get install postgresql")
    return found[-1]


class PostgresServer:
    """``start()`` a private cluster; ``url(db)``, ``create_database()``; ``stop()`` removes it."""

    def __init__(self, *, durable: bool = False) -> None:
        self.bin = postgres_bin()
        self.durable = durable
        # As root the server runs as nobody, who must reach the folder: /tmp, not a private TMPDIR.
        self.folder = Path(tempfile.mkdtemp(prefix="booth-pg-", dir="/tmp" if os.geteuid() == 0 else None))
        self.data = self.folder / "data"
        self.port = 0
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
            self._as_user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
                             "--"]

    def _run(self, *command: str | Path) -> None:
        done = subprocess.run([*self._as_user, *map(str, command)], capture_output=True, text=True, timeout=120,
                              cwd=self.folder, env={**os.environ, "LC_ALL": "C"})
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def start(self) -> PostgresServer:
        self._run(self.bin / "initdb", "-D", self.data, "-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        self.port = free_port()
        settings = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.folder}",
                    "-c max_connections=200"]
        if not self.durable:
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.folder / "server.log", "-w", "-t", "60",
                  "-o", " ".join(settings), "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def stop(self) -> None:
        if self.port:
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
            self.port = 0
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
