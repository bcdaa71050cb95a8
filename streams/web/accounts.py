"""Users, roles, sessions and the access log, kept in Elasticsearch so every web server
process of a deployment shares them.

    <prefix>-users     one document per user (id = name): role, argon2 password hash
    <prefix>-sessions  one document per login (id = SHA-256 of the cookie's token): user,
                       CSRF token, created, last seen, expiry; logout deletes it
    <prefix>-access    who read which call's transcript or recording, when (banks audit it)

Roles: an agent sees only their own calls (the call's `metadata.agent_id` is the user name);
a supervisor, an analyst and an admin see every call; only an analyst or an admin posts
review verdicts; only a supervisor or an admin sends notes to an agent's desk; only an
admin reads the access log. Passwords are hashed with argon2id (argon2-cffi defaults); the
browser holds only a random session token, and the server only its hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from elasticsearch import ConflictError, Elasticsearch

from ..settings import Settings

ROLES = ("agent", "supervisor", "analyst", "admin")
ROLE_NAMES = {"agent": "坐席", "supervisor": "班组长", "analyst": "质检员", "admin": "管理员"}
USERS_INDEX, SESSIONS_INDEX, ACCESS_INDEX = "users", "sessions", "access"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()

MAPPINGS = {
    USERS_INDEX: {"dynamic": False, "properties": {
        "name": {"type": "keyword"}, "role": {"type": "keyword"},
        "created_at": {"type": "date", "format": "epoch_second"},
        "disabled": {"type": "boolean"}}},
    SESSIONS_INDEX: {"dynamic": False, "properties": {
        "user": {"type": "keyword"}, "expires_at": {"type": "date", "format": "epoch_second"}}},
    ACCESS_INDEX: {"dynamic": False, "properties": {
        "at": {"type": "date", "format": "epoch_second"}, "user": {"type": "keyword"},
        "role": {"type": "keyword"}, "call_id": {"type": "keyword"},
        "action": {"type": "keyword"}, "detail": {"type": "keyword"}}},
}  # fmt: skip


class AccountError(ValueError):
    """A bad user name, role or password; the message says which."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def sees_all_calls(self) -> bool:
        return self.role in ("supervisor", "analyst", "admin")

    def may_see(self, agent_id: str | None) -> bool:
        """May this user read a call handled by `agent_id`?"""
        return self.sees_all_calls or (bool(agent_id) and agent_id == self.name)

    @property
    def may_review(self) -> bool:
        return self.role in ("analyst", "admin")

    @property
    def may_coach(self) -> bool:
        return self.role in ("supervisor", "admin")

    @property
    def may_audit(self) -> bool:
        return self.role == "admin"

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: float
    token_hash: str


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Users, sessions and the access log of one deployment (synchronous; the web server
    calls it from a thread pool)."""

    def __init__(self, es: Elasticsearch, settings: Settings, idle_s: float = 1800.0,
                 max_s: float = 12 * 3600.0):  # fmt: skip
        self.es, self.settings = es, settings
        self.idle_s, self.max_s = idle_s, max_s
        self.users_index = settings.index(USERS_INDEX)
        self.sessions_index = settings.index(SESSIONS_INDEX)
        self.access_index = settings.index(ACCESS_INDEX)

    def ensure_indices(self) -> None:
        for name, mappings in MAPPINGS.items():
            index = self.settings.index(name)
            if not self.es.indices.exists(index=index):
                self.es.options(ignore_status=400).indices.create(index=index, mappings=mappings)

    # --- users ---------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password: str, replace: bool = False) -> User:
        if not NAME.match(name or ""):
            raise AccountError(
                f"user name {name!r}: letters, digits and _.@- only, at most 64 characters"
            )
        if role not in ROLES:
            raise AccountError(f"role {role!r}: choose from {', '.join(ROLES)}")
        if len(password or "") < MIN_PASSWORD:
            raise AccountError(f"password: at least {MIN_PASSWORD} characters")
        doc = {"name": name, "role": role, "password_hash": _hasher.hash(password),
               "created_at": round(time.time(), 3), "disabled": False}  # fmt: skip
        try:
            if replace:
                self.es.index(index=self.users_index, id=name, document=doc, refresh=True)
            else:
                self.es.create(index=self.users_index, id=name, document=doc, refresh=True)
        except ConflictError:
            raise AccountError(
                f"user {name!r} exists (use --reset to set a new password)"
            ) from None
        if replace:  # a new password ends every session of the old one
            self.es.delete_by_query(index=self.sessions_index, query={"term": {"user": name}},
                                    refresh=True, conflicts="proceed")  # fmt: skip
        return User(name, role)

    def users(self) -> list[dict]:
        found = self.es.search(index=self.users_index, size=1000, sort=[{"name": "asc"}],
                               source=["name", "role", "created_at", "disabled"])  # fmt: skip
        return [h["_source"] for h in found["hits"]["hits"]]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is right (and the account enabled), else None. Takes
        about as long for an unknown name as for a wrong password."""
        found = self.es.options(ignore_status=404).get(index=self.users_index, id=name or "-")
        source = found.get("_source") if found.get("found") else None
        stored = source["password_hash"] if source else _DUMMY_HASH
        try:
            _hasher.verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if source is None or source.get("disabled"):
            return None
        return User(source["name"], source["role"])

    # --- sessions ------------------------------------------------------------------------

    def open_session(self, user: User) -> tuple[str, Session]:
        """A new session: (the token for the cookie, the session)."""
        token, now = secrets.token_urlsafe(32), time.time()
        session = Session(user, secrets.token_urlsafe(24), now + self.idle_s, _hash_token(token))
        self.es.index(index=self.sessions_index, id=session.token_hash, refresh=True, document={
            "user": user.name, "role": user.role, "csrf": session.csrf, "created_at": now,
            "expires_at": session.expires_at, "ends_at": now + self.max_s})  # fmt: skip
        return token, session

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token (sliding idle expiry, capped), or None."""
        if not token or len(token) > 200:
            return None
        key = _hash_token(token)
        found = self.es.options(ignore_status=404).get(index=self.sessions_index, id=key)
        if not found.get("found"):
            return None
        doc, now = found["_source"], time.time()
        if now > doc["expires_at"] or now > doc["ends_at"]:
            self.close_session(token)
            return None
        user = self._current_user(doc["user"])
        if user is None:
            self.close_session(token)
            return None
        expires = min(doc["ends_at"], now + self.idle_s)
        if expires - doc["expires_at"] > 60:  # slide the idle expiry, at most once a minute
            self.es.update(index=self.sessions_index, id=key, doc={"expires_at": expires})
        return Session(user, doc["csrf"], expires, key)

    def _current_user(self, name: str) -> User | None:
        found = self.es.options(ignore_status=404).get(index=self.users_index, id=name)
        source = found.get("_source") if found.get("found") else None
        if not source or source.get("disabled"):
            return None
        return User(source["name"], source["role"])

    def close_session(self, token: str) -> None:
        self.es.options(ignore_status=404).delete(index=self.sessions_index,
                                                  id=_hash_token(token), refresh=True)  # fmt: skip

    # --- access log ----------------------------------------------------------------------

    def record_access(self, user: User, call_id: str, action: str, detail: str = "") -> None:
        """Who read which call (transcript, recording, export), when."""
        self.es.index(index=self.access_index, document={
            "at": round(time.time(), 3), "user": user.name, "role": user.role,
            "call_id": call_id, "action": action, "detail": detail[:200]})  # fmt: skip

    def access_log(self, call_id: str | None = None, user: str | None = None,
                   since: float | None = None, size: int = 200) -> list[dict]:  # fmt: skip
        filters: list[dict] = []
        if call_id:
            filters.append({"term": {"call_id": call_id}})
        if user:
            filters.append({"term": {"user": user}})
        if since is not None:
            filters.append({"range": {"at": {"gte": since}}})
        self.es.indices.refresh(index=self.access_index)
        found = self.es.search(index=self.access_index, size=size, sort=[{"at": "desc"}],
                               query={"bool": {"filter": filters}})  # fmt: skip
        return [h["_source"] for h in found["hits"]["hits"]]


# Verified against when the user name is unknown, so both paths cost one argon2 verify.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
