"""The office dashboard's users, login sessions, login rate limit and audit trail.

Three roles: an ``admin`` sees everything in full; a ``secretary`` sees only their college; a
``viewer`` sees every college. Secretaries and viewers get ID numbers and names masked
(``boothcore.privacy``) in every page, CSV and JSON answer. Passwords are argon2id hashes
(argon2-cffi's RFC 9106 low-memory profile); there is no default password. A session is a random
token in an HttpOnly cookie; central keeps only its sha256, an expiry and the session's CSRF token.
The tables live in central.db (migration 2 of ``central.store``), so ``booth-central web`` and
``booth-central serve`` on the same store share them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from boothcore.names import BadName, check_name
from boothcore.privacy import mask_id, mask_name
from central.sql import Connection
from central.store import utc

ROLES = ("admin", "secretary", "viewer")
USER_NAME = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
# NIST SP 800-63B section 5.1.1.2: at least 8 characters for a memorized secret chosen by the user.
MIN_PASSWORD = 8
_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4 (argon2-cffi's default, RFC 9106 second choice)
# A hash compared when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user that cannot be added, phrased as the one line the office sees."""


class LoginRefused(Exception):
    """Wrong name or password (which one is not told)."""


class LoginRateLimited(Exception):
    """Too many failed logins for this name or client address within the window."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    college: str | None = None

    @property
    def sees_personal_data(self) -> bool:
        """Only an admin sees ID numbers and names in full."""
        return self.role == "admin"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_see(self, college: str) -> bool:
        """A secretary sees only their own college; the other roles every college."""
        return self.role != "secretary" or college == self.college

    def id_number(self, value: str) -> str:
        return value if self.sees_personal_data else mask_id(value)

    def person_name(self, value: str) -> str:
        return value if self.sees_personal_data else mask_name(value)


@dataclass(frozen=True)
class WebSession:
    user: User
    csrf: str
    expires_at: str


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    action: str
    detail: str


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Users:
    """Users, sessions and the audit trail on the central store's connection (``SqlStore.conn``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ----------------------------------------------------------------------------------- users
    def add(self, name: str, role: str, password: str, college: str | None = None, *, actor: str = "cli") -> User:
        """Add a user; UserError on a bad name, role, college or password, or a name already taken."""
        if not USER_NAME.match(name):
            raise UserError(f"user name {name!r}: use 2-32 characters a-z, 0-9, '_', '.', '-', starting with a letter")
        if role not in ROLES:
            raise UserError(f"role {role!r}: must be one of {', '.join(ROLES)}")
        if role == "secretary":
            if not college:
                raise UserError("a secretary needs --college (the college they see and act on)")
            try:
                college = check_name(college)
            except BadName as error:
                raise UserError(f"--college: {error.reason}") from None
            # A misspelt college would log in to empty pages; before a roster import there is nothing to check.
            if (self.conn.execute("SELECT 1 FROM roster LIMIT 1").fetchone()
                    and not self.conn.execute("SELECT 1 FROM roster WHERE college = ? LIMIT 1", (college,)).fetchone()):
                raise UserError(f"--college {college!r} is no college of the roster: write it as the roster's "
                                "college column does")
        elif college:
            raise UserError(f"--college is only for a secretary ({'an admin' if role == 'admin' else 'a viewer'} "
                            "sees every college)")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
        with self.conn.transaction():
            if self.conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"user {name!r} already exists")
            self.conn.execute("INSERT INTO users (name, role, college, password_hash, created_at)"
                              " VALUES (?,?,?,?,?)", (name, role, college or None, _HASHER.hash(password), utc()))
            self._audit(actor, "user_added", f"{name} ({role}{', ' + college if college else ''})")
        return User(name, role, college or None)

    def set_password(self, name: str, password: str, *, actor: str = "cli") -> None:
        """Give an existing user a new password and end their open logins; UserError if there is no
        such user or the password is too short."""
        if len(password) < MIN_PASSWORD:
            raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
        with self.conn.transaction():
            changed = self.conn.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                                        (_HASHER.hash(password), name)).rowcount
            if not changed:
                raise UserError(f"no user {name!r}")
            self.conn.execute("DELETE FROM web_sessions WHERE user_name = ?", (name,))
            self._audit(actor, "password_set", name)

    def remove(self, name: str, *, actor: str = "cli") -> User:
        """Remove a user and end their open logins; UserError if there is no such user or it is the
        last admin (nobody could then manage the office). The admins' rows are locked first, so two
        removals at once on PostgreSQL cannot both take the last two admins."""
        with self.conn.transaction():
            self.conn.execute("UPDATE users SET role = role WHERE role = 'admin'")
            user = self.user(name)
            if user is None:
                raise UserError(f"no user {name!r}")
            if user.is_admin and self.conn.execute(
                    "SELECT COUNT(*) FROM users WHERE role = 'admin'").fetchone()[0] <= 1:
                raise UserError(f"{name!r} is the last admin: add another admin first (booth-central user add "
                                "NAME --role admin)")
            self.conn.execute("DELETE FROM web_sessions WHERE user_name = ?", (name,))
            self.conn.execute("DELETE FROM users WHERE name = ?", (name,))
            self._audit(actor, "user_removed", f"{name} ({user.role}{', ' + user.college if user.college else ''})")
        return user

    def user(self, name: str) -> User | None:
        row = self.conn.execute("SELECT name, role, college FROM users WHERE name = ?", (name,)).fetchone()
        return User(row["name"], row["role"], row["college"]) if row else None

    def users(self) -> list[User]:
        return [User(r["name"], r["role"], r["college"])
                for r in self.conn.execute("SELECT name, role, college FROM users ORDER BY name")]

    # ---------------------------------------------------------------------------------- logins
    def authenticate(self, name: str, password: str, client: str, *, attempts: int, window_s: int) -> User:
        """The user, or LoginRateLimited (checked first) / LoginRefused; failures and successes are audited."""
        since = utc((dt.datetime.now(dt.UTC) - dt.timedelta(seconds=window_s)).isoformat())
        with self.conn.transaction():
            self.conn.execute("DELETE FROM login_failures WHERE at < ?", (since,))
            by_name, by_client = self.conn.execute(
                "SELECT SUM(CASE WHEN name = ? THEN 1 ELSE 0 END), SUM(CASE WHEN client = ? THEN 1 ELSE 0 END)"
                " FROM login_failures", (name, client)).fetchone()
        if (by_name or 0) >= attempts or (by_client or 0) >= attempts:
            raise LoginRateLimited
        row = self.conn.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        try:
            _HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
            ok = row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        with self.conn.transaction():
            if not ok:
                self.conn.execute("INSERT INTO login_failures (name, client, at) VALUES (?,?,?)",
                                  (name, client, utc()))
                self._audit(name if row else "?", "login_failed", f"from {client}")
            else:
                self._audit(name, "login", f"from {client}")
        if not ok:
            raise LoginRefused
        user = self.user(name)
        assert user is not None
        return user

    def open_session(self, user: User, ttl_s: int) -> tuple[str, WebSession]:
        """(cookie token, session): the token is shown once; only its sha256 is stored."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        expires = utc((now + dt.timedelta(seconds=ttl_s)).isoformat())
        with self.conn.transaction():
            self.conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (utc(),))
            self.conn.execute("INSERT INTO web_sessions (token_sha256, user_name, csrf, created_at, expires_at)"
                              " VALUES (?,?,?,?,?)", (_token_key(token), user.name, csrf, utc(), expires))
        return token, WebSession(user, csrf, expires)

    def session(self, token: str) -> WebSession | None:
        """The live session of a cookie token; None when unknown or expired."""
        row = self.conn.execute(
            "SELECT s.csrf, s.expires_at, u.name, u.role, u.college FROM web_sessions s"
            " JOIN users u ON u.name = s.user_name WHERE s.token_sha256 = ?", (_token_key(token),)).fetchone()
        if row is None or row["expires_at"] <= utc():
            return None
        return WebSession(User(row["name"], row["role"], row["college"]), row["csrf"], row["expires_at"])

    def close_session(self, token: str, actor: str) -> None:
        with self.conn.transaction():
            self.conn.execute("DELETE FROM web_sessions WHERE token_sha256 = ?", (_token_key(token),))
            self._audit(actor, "logout", "")

    # ----------------------------------------------------------------------------------- audit
    def audit(self, actor: str, action: str, detail: str) -> None:
        """Record one change by ``actor`` (a user name, or "cli")."""
        with self.conn.transaction():
            self._audit(actor, action, detail)

    def _audit(self, actor: str, action: str, detail: str) -> None:
        self.conn.execute("INSERT INTO audit (at, actor, action, detail) VALUES (?,?,?,?)",
                          (utc(), actor, action, detail))

    def audit_log(self, limit: int = 200) -> list[AuditEntry]:
        rows = self.conn.execute("SELECT at, actor, action, detail FROM audit ORDER BY seq DESC LIMIT ?", (limit,))
        return [AuditEntry(r["at"], r["actor"], r["action"], r["detail"]) for r in rows]
