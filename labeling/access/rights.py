"""Who may do what, checked in the library against the account as it is in the database now.

A right names an action and the roles that may take it. ``check`` runs inside the action's own
session: an actor that names an account must be active and hold one of the roles *now* — an admin
who disables or demotes someone takes effect on that person's next click, not their next log-in.
An actor that names no account (the shell's ``cli``, an importer, the demo's oracle) acts with the
trust of whoever runs the command on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from storage import MedalError, Role, User


class NotAllowed(MedalError):
    """An account that is disabled, or whose role does not allow the action."""


@dataclass(frozen=True)
class Right:
    action: str  # what it allows, as a sentence fragment ("export datasets")
    roles: frozenset[Role]


LABEL = Right("label images", frozenset(Role))
SEE_IDENTITY = Right("see patient identifiers", frozenset({Role.REVIEWER, Role.ADMIN}))
TRAIN = Right("train models, re-rank the queue or change the learning settings", frozenset({Role.SCIENTIST, Role.ADMIN}))
EXPORT = Right("export datasets", frozenset({Role.SCIENTIST, Role.ADMIN}))
EXPORT_IDENTITY = Right("export datasets that keep patient identity", frozenset({Role.ADMIN}))
PAST_EXPORTS = Right("list or delete past exports", frozenset({Role.ADMIN}))  # they may keep identity
IMPORT = Right("import images", frozenset({Role.SCIENTIST, Role.ADMIN}))
IMPORT_SERVER_FOLDER = Right("import folders on the server", frozenset({Role.ADMIN}))
TAXONOMY = Right("edit the label classes", frozenset({Role.SCIENTIST, Role.ADMIN}))
AUDIT = Right("see the audit trail", frozenset({Role.ADMIN}))
REVIEW = Right("review readings and adjudicate a consensus", frozenset({Role.REVIEWER, Role.ADMIN}))
SEE_ALL_READINGS = Right("see every reader's readings", frozenset({Role.REVIEWER, Role.ADMIN}))
READING_PLAN = Right("change the reading plan", frozenset({Role.SCIENTIST, Role.ADMIN}))
SEE_AGREEMENT = Right("see how readers agree", frozenset({Role.REVIEWER, Role.SCIENTIST, Role.ADMIN}))
USERS = Right("manage user accounts", frozenset({Role.ADMIN}))


def allows(right: Right, role: Role) -> bool:
    return role in right.roles


def check(session: Session, actor: str | None, right: Right) -> User | None:
    """The acting account if it may take ``right`` now; :class:`NotAllowed` if it is disabled or its role
    does not allow it; None when ``actor`` names no account (see the module's docstring)."""
    if actor is None:
        return None
    user = session.exec(select(User).where(User.name == actor)).first()
    if user is None:
        return None
    if not user.active:
        raise NotAllowed(f"The account {actor!r} has been disabled; ask an admin.")
    if not allows(right, user.role):
        roles = " and ".join(sorted(f"{role.value}s" for role in right.roles))
        article = "an" if user.role.value[0] in "aeiou" else "a"
        raise NotAllowed(f"Only {roles} may {right.action}; {actor!r} is now {article} {user.role.value}.")
    return user
