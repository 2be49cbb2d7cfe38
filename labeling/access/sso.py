"""Single sign-on: an identity the hospital's OpenID Connect provider vouches for, turned into a Medal account.

The browser's half (Streamlit's ``st.login``, ``st.user``) is in ``labeling.ui.access.sso_login``; this module
only sees the identity token's claims, as a mapping. ``sign_in`` names the account by one claim
(``MEDAL_SSO_NAME_CLAIM``, the e-mail address by default) and gives it a role:

1. from the identity's groups (the claim ``MEDAL_SSO_ROLE_CLAIM``, ``groups`` by default) through
   ``MEDAL_SSO_ROLES`` (``group=role`` pairs): the most rights of all its mapped groups. An account of that
   name is made on the first sign-in (it has no password: it logs in only through the provider), and an
   existing account takes the mapped role;
2. failing that, from an admin: an account of that name that exists already (made with ``medal user add``,
   ``--sso`` for one without a password, or on the Settings page) signs in with the role it has.

An identity with neither is refused (``SignInRefused``), and so is one whose account an admin disabled
(the provider cannot switch it back on), one whose name claim is missing or unusable, and one whose
sign-in is older than ``MAX_SIGN_IN_AGE_S`` (a stale identity cookie is no log-in). Every sign-in and every
refusal is audited, as ``user.login`` and ``user.login_failed`` with ``"via": "sso"`` in the detail.

The account is then logged in like a password log-in (``browser_sessions.start``), so everything that ends
a session — log-out, idle time, a disabled account, a changed role — works the same for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from labeling.access.accounts import CONSENSUS, SSO_ONLY, Account
from storage import AuditEvent, MedalError, Role, User, config, utcnow, write_session

MAX_SIGN_IN_AGE_S = 600  # an identity token issued longer ago than this no longer logs in
RANK = (Role.ANNOTATOR, Role.REVIEWER, Role.SCIENTIST, Role.ADMIN)  # fewest rights first


class SignInRefused(MedalError):
    """An identity the provider vouched for that Medal does not let in (no account and no mapped group, a
    disabled account, a missing name claim, a stale sign-in)."""


def mapped_role(claims: Mapping[str, object]) -> Role | None:
    """The role the identity's groups map to (the most rights among them), or None."""
    settings = config()
    groups = claims.get(settings.sso_role_claim)
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, (list, tuple)):
        return None
    members = {group for group in groups if isinstance(group, str)}
    roles = [Role(role) for group, role in settings.sso_roles if group in members]
    return max(roles, key=RANK.index) if roles else None


def account_name(claims: Mapping[str, object]) -> str:
    """The Medal account name the identity's name claim gives; :class:`SignInRefused` when it has none."""
    claim = config().sso_name_claim
    value = claims.get(claim)
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > 64:
        raise SignInRefused(f"The identity provider sent no usable {claim!r} claim (1 to 64 characters), which "
                            f"names your Medal account; ask IT to release it to Medal.")
    if claim == "email" and claims.get("email_verified") is False:
        raise SignInRefused("The identity provider has not verified your e-mail address, which names your Medal "
                            "account; verify it there and sign in again.")
    if name.lower() == CONSENSUS:
        raise SignInRefused(f"{name!r} is the name Medal gives consensus readings; no account may sign in as it.")
    return name


def sign_in(claims: Mapping[str, object], now: datetime | None = None, *, engine: Engine,
            client: str | None = None) -> Account:
    """The Medal account (as it is now) for an identity token's ``claims``; :class:`SignInRefused` with what
    to do when the identity may not log in. Audited either way."""
    now = now or utcnow()
    detail: dict[str, object] = {"via": "sso", "issuer": _text(claims.get("iss")),
                                 "subject": _text(claims.get("sub")), "client": client}
    try:
        _check_fresh(claims, now)
        name = account_name(claims)
    except SignInRefused as error:
        _refuse(engine, None, detail | {"reason": str(error)})
        raise
    role = mapped_role(claims)
    with write_session(engine=engine) as session:
        user = session.exec(select(User).where(User.name == name)).first()
        if user is not None and user.password_hash and not user.active:
            reason = "Your Medal account has been disabled; ask an admin."
        elif role is None and (user is None or not user.password_hash):
            reason = (f"You signed in as {name!r}, but no Medal account has that name and none of your groups "
                      f"gives a Medal role; ask an admin to add the account or IT to map your group.")
        else:
            reason = None
            if user is None or not user.password_hash:  # a new account (a name that only had annotations so far)
                user = user or User(name=name)
                user.password_hash, user.role, user.active = SSO_ONLY, role, True
                session.add(user)
                session.flush()
                session.add(AuditEvent(username=name, action="user.add", entity="user", entity_id=user.id,
                                       detail={"name": name, "role": role.value, "via": "sso"}))
            elif role is not None and user.role != role:  # the groups decide the role of a mapped identity
                session.add(AuditEvent(username=name, action="user.update", entity="user", entity_id=user.id,
                                       detail={"role": role.value, "was": user.role.value, "via": "sso"}))
                user.role = role
                session.add(user)
            session.add(AuditEvent(user_id=user.id, username=name, action="user.login", entity="user",
                                   entity_id=user.id, detail=detail | {"role": user.role.value,
                                                                       "from": "groups" if role else "account"}))
            session.commit()
            return Account(user.id, user.name, user.role)
    _refuse(engine, name, detail | {"reason": reason})
    raise SignInRefused(reason)


def _check_fresh(claims: Mapping[str, object], now: datetime) -> None:
    issued = claims.get("iat")
    if isinstance(issued, bool) or not isinstance(issued, (int, float)):
        raise SignInRefused("The identity token has no issue time ('iat'); sign in again.")
    if not -60 <= now.timestamp() - issued <= MAX_SIGN_IN_AGE_S:
        raise SignInRefused("This sign-in with the identity provider is too old to log in with; sign in again.")


def _refuse(engine: Engine, name: str | None, detail: dict[str, object]) -> None:
    with write_session(engine=engine) as session:
        session.add(AuditEvent(username=name, action="user.login_failed", entity="user", detail=detail))
        session.commit()


def _text(value: object) -> str | None:
    return str(value)[:200] if value is not None else None
