"""Built-in accounts: argon2id password hashes, roles, and log-ins that slow down after failures.

Failed attempts are counted per user name, whether the name exists or not, so the answer never
tells an attacker which names are real, and per client (the browser's address), so spraying many
names from one place slows down too. After ``FREE_FAILURES`` failures in a row for a name (or
``CLIENT_FREE_FAILURES`` from a client), every further attempt (right or wrong) waits until
``blocked_until``: 2, 4, 8 … seconds, never more than ``MAX_BLOCK_S``, so nobody is locked out for
good; an admin can clear a name's count at once (``unlock_login``). A successful log-in clears the
name's and the client's count.

Each attempt is charged before its password is checked, in one write transaction, and refunded
when it succeeds: parallel guesses cannot all slip in before the count rises.

A browser that has logged in as a user before is a *known browser* for that user: it holds a device
token (``device_token``, an HMAC over the user's id with a per-project secret, kept in an HttpOnly
cookie). Its attempts for that user are counted on the token alone (slowing down after
``FREE_FAILURES`` like a name), so someone guessing a name or spraying from the same proxy address
cannot lock the real user out of their own browser (OWASP's "device cookies").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.access import rights
from storage import (
    AuditEvent,
    BrowserSession,
    LoginAttempt,
    MedalError,
    ProjectSetting,
    Role,
    User,
    as_utc,
    config,
    utcnow,
    write_session,
)

FREE_FAILURES = 3
CLIENT_FREE_FAILURES = 20  # failures from one client, any names, before it slows down
CLIENT_KEY = "\tclient "  # client rows in login_attempt; no user name starts with a tab (names are stripped)
DEVICE_KEY = "\tdevice "  # known-browser rows in login_attempt
DEVICE_SECRET = "accounts.device_secret"  # the project setting holding the device tokens' HMAC key
MAX_BLOCK_S = 300
MIN_PASSWORD_LENGTH = 8
WRONG_LOGIN = "Wrong username or password."
PASSWORD_LOGIN_OFF = ("Password log-in is switched off on this server (MEDAL_PASSWORD_LOGIN); "
                      "sign in with your hospital account.")
ROLE_NAMES = tuple(role.value for role in Role)
SSO_ONLY = "!sso"  # the password hash of an account that logs in only through single sign-on: no password matches it

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, only spends the same time")


class LoginFailed(MedalError):
    """Wrong user name or password (one message for both), or too many recent failures."""


class AccountError(MedalError):
    """A user-management request that cannot be done (duplicate name, weak password, unknown user)."""


@dataclass(frozen=True)
class Account:
    """What the app keeps about the logged-in user: small and safe to hold in session state."""

    id: int
    name: str
    role: Role

    @property
    def sees_identity(self) -> bool:
        """Reviewers and admins see patient identifiers (names, IDs, birth dates) in the header panel."""
        return rights.allows(rights.SEE_IDENTITY, self.role)

    @property
    def edits_taxonomy(self) -> bool:
        return rights.allows(rights.TAXONOMY, self.role)

    @property
    def runs_training(self) -> bool:
        """Data scientists and admins start training, change the strategy and roll back models."""
        return rights.allows(rights.TRAIN, self.role)

    @property
    def imports_data(self) -> bool:
        """Data scientists and admins import images (uploads); only admins import server folders."""
        return rights.allows(rights.IMPORT, self.role)

    @property
    def exports_data(self) -> bool:
        """Data scientists and admins export datasets; only admins may keep identity in them."""
        return rights.allows(rights.EXPORT, self.role)

    @property
    def sees_agreement(self) -> bool:
        """Reviewers, data scientists and admins see how readers agree."""
        return rights.allows(rights.SEE_AGREEMENT, self.role)

    @property
    def reviews(self) -> bool:
        """Reviewers and admins review readings and adjudicate a consensus."""
        return rights.allows(rights.REVIEW, self.role)

    @property
    def audits(self) -> bool:
        """Admins see the audit trail."""
        return rights.allows(rights.AUDIT, self.role)

    @property
    def is_admin(self) -> bool:
        return rights.allows(rights.USERS, self.role)


def parse_role(value: Role | str) -> Role:
    if isinstance(value, Role):
        return value
    try:
        return Role(str(value).lower())
    except ValueError:
        raise AccountError(f"Unknown role {value!r}; use one of {', '.join(r.value for r in Role)}.") from None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")


CONSENSUS = "consensus"  # the annotator of consensus readings (labeling.labels.review): no account may take the name


def add_user(name: str, password: str | None, role: Role | str = Role.ANNOTATOR, *, engine: Engine,
             actor: str | None = None) -> Account:
    """Create an account that can log in. A name that only has annotations so far gets the password. With
    ``password`` None the account logs in only through single sign-on (``labeling.access.sso``), as the
    identity whose name claim is ``name``, with the role given here (unless its groups map to one)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise AccountError("A user name needs 1 to 64 characters.")
    if name.lower() == CONSENSUS:
        raise AccountError(f"{name!r} is the name Medal gives consensus readings; choose another user name.")
    if password is not None:
        _check_password(password)
    role = parse_role(role)
    with Session(engine) as session:
        rights.check(session, actor, rights.USERS)
        user = session.exec(select(User).where(User.name == name)).first()
        if user is not None and user.password_hash:
            raise AccountError(f"User {name!r} exists already; change the password in Settings instead.")
        user = user or User(name=name)
        user.password_hash = _hasher.hash(password) if password is not None else SSO_ONLY
        user.role, user.active = role, True
        session.add(user)
        session.flush()
        detail = {"name": name, "role": role.value} | ({} if password is not None else {"via": "sso"})
        session.add(AuditEvent(username=actor or name, action="user.add", entity="user", entity_id=user.id,
                               detail=detail))
        session.commit()
        return Account(user.id, user.name, user.role)


def update_user(name: str, *, engine: Engine, password: str | None = None, role: Role | str | None = None,
                active: bool | None = None, actor: str | None = None) -> Account:
    """Change a user's password, role or whether they may log in; audited."""
    with Session(engine) as session:
        rights.check(session, actor, rights.USERS)
        user = session.exec(select(User).where(User.name == name)).first()
        if user is None:
            raise AccountError(f"There is no user {name!r}; `medal user list` shows them.")
        changed: dict[str, object] = {}
        if password is not None:
            _check_password(password)
            user.password_hash, changed["password"] = _hasher.hash(password), "changed"
        if role is not None:
            user.role = parse_role(role)
            changed["role"] = user.role.value
        if active is not None:
            user.active = changed["active"] = active
        if password is not None or active is False:  # a new password or a disabled account: every browser out
            session.execute(update(BrowserSession).where(col(BrowserSession.user_id) == user.id,
                                                         col(BrowserSession.ended_at).is_(None))
                            .values(ended_at=utcnow()))
        session.add(user)
        session.add(AuditEvent(username=actor or name, action="user.update", entity="user", entity_id=user.id,
                               detail=changed))
        session.commit()
        return Account(user.id, user.name, user.role)


def list_users(*, engine: Engine) -> list[dict[str, object]]:
    """Every user: name, role, whether they can log in, created_at."""
    with Session(engine) as session:
        users = session.exec(select(User).order_by(User.name)).all()
    return [{"name": u.name, "role": u.role.value, "active": u.active, "can_log_in": bool(u.password_hash),
             "sso_only": u.password_hash == SSO_ONLY, "created_at": u.created_at} for u in users]


def device_token(user_id: int, *, engine: Engine) -> str:
    """A token that marks a browser as one that logged in as user ``user_id`` (the value of its device
    cookie): ``<user id>.<nonce>.<HMAC>``."""
    nonce = secrets.token_urlsafe(12)
    return f"{user_id}.{nonce}.{_device_mac(f'{user_id}.{nonce}', engine)}"


def _device_user(token: str | None, engine: Engine) -> tuple[int, str] | None:
    """``(user id, nonce)`` of a genuine device token, else None."""
    parts = token.split(".") if isinstance(token, str) and len(token) <= 200 else []
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].isdigit():
        return None
    if not hmac.compare_digest(parts[2], _device_mac(f"{parts[0]}.{parts[1]}", engine)):
        return None
    return int(parts[0]), parts[1]


def _device_mac(message: str, engine: Engine) -> str:
    with Session(engine) as session:
        setting = session.get(ProjectSetting, DEVICE_SECRET)
    if setting is None:
        with write_session(engine=engine) as session:
            setting = session.get(ProjectSetting, DEVICE_SECRET)
            if setting is None:
                setting = ProjectSetting(key=DEVICE_SECRET, value=secrets.token_hex(32))
                session.add(setting)
                session.commit()
                session.refresh(setting)
    return hmac.new(bytes.fromhex(setting.value), message.encode(), hashlib.sha256).hexdigest()[:32]


def authenticate(name: str, password: str, now: datetime | None = None, *, engine: Engine, client: str | None = None,
                 device: str | None = None) -> Account:
    """The account for a right name and password; ``LoginFailed`` otherwise (slower after failures).
    ``client`` is where the attempt comes from (the browser's address), when known; ``device`` the
    browser's device token (``device_token``), when it has one: a genuine token for this name's user makes
    the attempt count on that browser alone, not on the name or the client."""
    if not config().password_login:
        raise LoginFailed(PASSWORD_LOGIN_OFF)
    now = now or utcnow()
    name = name.strip()[:64]
    keys = [name] + ([f"{CLIENT_KEY}{client}"[:64]] if client else [])
    frees = [FREE_FAILURES, CLIENT_FREE_FAILURES]
    known = _device_user(device, engine)
    with Session(engine) as session:
        user = session.exec(select(User).where(User.name == name)).first()
    if known is not None and user is not None and known[0] == user.id:
        keys, frees = [f"{DEVICE_KEY}{known[1]}"[:64]], [FREE_FAILURES]
    with write_session(engine=engine) as session:  # charge the attempt first, atomically
        for key in keys:
            attempt = session.get(LoginAttempt, key)
            blocked = as_utc(attempt.blocked_until) if attempt and attempt.blocked_until else None
            if blocked is not None and blocked > now:
                wait = int((blocked - now).total_seconds()) + 1
                who = ("this computer" if key.startswith(CLIENT_KEY) else
                       "this browser" if key.startswith(DEVICE_KEY) else "this name")
                raise LoginFailed(f"Too many failed log-ins for {who}; try again in {wait} s.")
        for key, free in zip(keys, frees):
            attempt = session.get(LoginAttempt, key) or LoginAttempt(username=key)
            attempt.failures += 1
            if attempt.failures >= free:
                attempt.blocked_until = now + timedelta(seconds=min(2 ** (attempt.failures - free + 1), MAX_BLOCK_S))
            session.add(attempt)
        session.commit()
    with Session(engine) as session:
        user = session.exec(select(User).where(User.name == name)).first()
    ok = _verify(user.password_hash if user and user.password_hash else None, password)
    with write_session(engine=engine) as session:
        if ok and user is not None and user.active:
            session.execute(delete(LoginAttempt).where(col(LoginAttempt.username).in_(keys)))  # the refund
            if _hasher.check_needs_rehash(user.password_hash or ""):
                user.password_hash = _hasher.hash(password)
                session.add(user)
            session.add(AuditEvent(user_id=user.id, username=user.name, action="user.login", entity="user",
                                   entity_id=user.id, detail={"client": client} if client else {}))
            session.commit()
            return Account(user.id, user.name, user.role)
        failures = session.get(LoginAttempt, keys[0])
        session.add(AuditEvent(username=name, action="user.login_failed", entity="user",
                               detail={"failures": failures.failures if failures else 1, "client": client,
                                       "known_browser": keys[0].startswith(DEVICE_KEY)}))
        session.commit()
    raise LoginFailed(WRONG_LOGIN)


def unlock_login(name: str, *, engine: Engine, actor: str | None = None) -> None:
    """Clear a name's failed log-ins at once (an admin helping a locked-out user); audited."""
    with write_session(engine=engine) as session:
        rights.check(session, actor, rights.USERS)
        session.execute(delete(LoginAttempt).where(LoginAttempt.username == name))
        session.add(AuditEvent(username=actor, action="user.unlock", entity="user", detail={"name": name}))
        session.commit()


def _verify(stored_hash: str | None, password: str) -> bool:
    """argon2 verification; an unknown user spends the same time on a dummy hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
