"""``booth-central user list|remove|passwd``: real processes on the office store of each engine,
the password typed at a real pseudo-terminal (no echo, asked twice) or read from standard input."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from central.users import LoginRefused, Users
from tests.web.conftest import PASSWORD, Office

REPO = Path(__file__).resolve().parents[2]


def _toml(office: Office, tmp_path: Path) -> Path:
    toml = tmp_path / "central.toml"
    toml.write_text(f'[storage]\ndata_dir = "{office.config.data_dir}"\n'
                    f'db_url = "{office.config.storage.db_url}"\n', encoding="utf-8")
    return toml


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def _at_terminal(args: list[str], answers: list[str], timeout_s: float = 60.0) -> tuple[int, str]:
    """Run booth-central with a pseudo-terminal as its controlling terminal; type each answer after
    each prompt. (exit code, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its stdin, stdout, stderr and /dev/tty
        os.chdir(REPO)
        os.execv(sys.executable, [sys.executable, "-m", "central.cli", *args])
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.rstrip().endswith(b":"):
                os.write(fd, pending.pop(0).encode() + b"\n")
                shown += b"<typed>"
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace")


def test_list_shows_names_roles_and_colleges_never_a_hash(office: Office, tmp_path: Path):
    done = _cli("user", "list", "--config", str(_toml(office, tmp_path)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["admin\tadmin\t-", "sec\tsecretary\t外语学院", "viewer\tviewer\t-"]
    assert "argon2" not in done.stdout


def test_remove_ends_the_users_logins_and_is_audited(office: Office, tmp_path: Path):
    users = Users(office.store.conn)
    token, _ = users.open_session(users.user("viewer"), 3600)
    done = _cli("user", "remove", "viewer", "--config", str(_toml(office, tmp_path)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "removed viewer (viewer); their logins ended"
    assert users.user("viewer") is None and users.session(token) is None
    assert [(e.actor, e.action, e.detail) for e in users.audit_log(1)] == [("cli", "user_removed", "viewer (viewer)")]
    done = _cli("user", "remove", "viewer", "--config", str(_toml(office, tmp_path)))
    assert done.returncode == 2 and done.stderr.strip() == "booth-central: no user 'viewer'"


def test_the_last_admin_cannot_be_removed(office: Office, tmp_path: Path):
    toml = _toml(office, tmp_path)
    done = _cli("user", "remove", "admin", "--config", str(toml))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == ["booth-central: 'admin' is the last admin: add another admin first "
                                        "(booth-central user add NAME --role admin)"]
    users = Users(office.store.conn)
    assert users.user("admin") is not None
    users.add("second", "admin", PASSWORD)
    assert _cli("user", "remove", "admin", "--config", str(toml)).returncode == 0
    assert _cli("user", "remove", "second", "--config", str(toml)).returncode == 2
    assert [u.name for u in users.users() if u.is_admin] == ["second"]


@pytest.mark.parametrize("command", ["passwd", "reset-password"])
def test_a_password_reset_from_standard_input(office: Office, tmp_path: Path, command: str):
    users = Users(office.store.conn)
    token, _ = users.open_session(users.user("sec"), 3600)
    done = _cli("user", command, "sec", "--config", str(_toml(office, tmp_path)), stdin="a brand new one\n")
    assert done.returncode == 0, done.stderr
    assert users.session(token) is None  # the old logins end with the old password
    assert users.authenticate("sec", "a brand new one", "test", attempts=5, window_s=60).name == "sec"
    with pytest.raises(LoginRefused):
        users.authenticate("sec", PASSWORD, "test", attempts=5, window_s=60)
    hashed = office.store.conn.execute("SELECT password_hash FROM users WHERE name = 'sec'").fetchone()[0]
    assert hashed.startswith("$argon2id$")  # as user add hashes
    assert ("cli", "password_set", "sec") in [(e.actor, e.action, e.detail) for e in users.audit_log()]
    done = _cli("user", command, "sec", "--config", str(_toml(office, tmp_path)), stdin="short\n")
    assert done.returncode == 2 and "at least 8 characters" in done.stderr
    done = _cli("user", command, "nobody", "--config", str(_toml(office, tmp_path)), stdin="long enough\n")
    assert done.returncode == 2 and done.stderr.strip() == ("booth-central: no user 'nobody' (booth-central user "
                                                            "list shows them)")


def test_at_a_terminal_the_password_is_asked_twice_without_echo(office: Office, tmp_path: Path):
    toml = str(_toml(office, tmp_path))
    code, shown = _at_terminal(["user", "passwd", "viewer", "--config", toml], ["typed secret 1", "typed secret 1"])
    assert code == 0, shown
    assert "new password for viewer:" in shown and "new password for viewer (again):" in shown
    assert "typed secret 1" not in shown  # not echoed
    users = Users(office.store.conn)
    assert users.authenticate("viewer", "typed secret 1", "test", attempts=5, window_s=60).name == "viewer"
    code, shown = _at_terminal(["user", "passwd", "viewer", "--config", toml], ["typed secret 2", "typo secret 2"])
    assert code == 2 and "the two entries differ: nothing was changed" in shown
    assert users.authenticate("viewer", "typed secret 1", "test", attempts=5, window_s=60).name == "viewer"
    code, shown = _at_terminal(["user", "add", "dora", "--role", "viewer", "--config", toml],
                               ["dora's secret", "dora's secret"])
    assert code == 0 and "dora's secret" not in shown, shown
    assert users.authenticate("dora", "dora's secret", "test", attempts=5, window_s=60).name == "dora"


@pytest.mark.parametrize("engine", ["postgresql"])
def test_two_removals_at_once_never_take_both_last_admins(office: Office):
    """On PostgreSQL two offices' commands may remove the last two admins at the same moment: the
    second waits for the first (the admins' rows are locked) and then finds one admin left."""
    import threading

    import psycopg

    from central.users import UserError

    users = Users(office.store.conn)
    users.add("second", "admin", PASSWORD)
    with psycopg.connect(office.config.storage.db_url) as first:  # one removal, not yet committed
        first.execute("UPDATE users SET role = role WHERE role = 'admin'")
        first.execute("DELETE FROM users WHERE name = 'admin'")
        outcome: list[object] = []
        other = threading.Thread(target=lambda: outcome.append(_removal(office, "second")))
        other.start()
        other.join(timeout=2)
        assert other.is_alive()  # waiting for the first removal's locks
        first.commit()
    other.join(timeout=30)
    assert isinstance(outcome[0], UserError) and "last admin" in str(outcome[0])
    assert [u.name for u in users.users() if u.is_admin] == ["second"]


def _removal(office: Office, name: str) -> object:
    from central.store import open_store
    from central.users import UserError

    store = open_store(office.config.storage.db_url)
    try:
        return Users(store.conn).remove(name)
    except UserError as error:
        return error
    finally:
        store.close()
