"""The people commands of ``medal``: accounts (``user add|list``) and a user's label queue (``next``)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from labeling.cli.output import print_json
from storage import MedalError, config

if TYPE_CHECKING:
    from storage import Project


def _read_password() -> str:
    """The new password from a prompt (typed twice, not echoed), or the first line of standard input
    when it is not a terminal, so it never lands in the shell's history."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise MedalError("The two passwords differ; run the command again.")
    return password


def cmd_user(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.access import add_user, list_users, unlock_login

    if args.action == "add":
        if not args.name:
            raise MedalError("`medal user add NAME [--role ROLE]` needs a name; it asks for the password.")
        if args.sso and args.password:
            raise MedalError("An account added with --sso has no password; leave out --password.")
        account = add_user(args.name, None if args.sso else args.password or _read_password(), args.role,
                           engine=project.engine)
        print(f"Added {account.name} ({account.role.value}{', single sign-on only' if args.sso else ''}).")
        return 0
    if args.action == "unlock":
        if not args.name:
            raise MedalError("`medal user unlock NAME` needs the name whose failed log-ins to clear.")
        unlock_login(args.name, engine=project.engine)
        print(f"{args.name} may log in again at once.")
        return 0
    users = list_users(engine=project.engine)
    if args.json:
        print_json(users)
        return 0
    for user in users:
        state = "" if user["active"] else " (disabled)"
        state += "" if user["can_log_in"] else " (no password: annotations only)"
        state += " (single sign-on only)" if user["sso_only"] else ""
        print(f"{user['name']:24} {user['role']:10}{state}")
    return 0


def cmd_next(args: argparse.Namespace, *, project: Project) -> int:
    from labeling.labels import peek

    items = peek(args.user, args.n, engine=project.engine)
    if args.json:
        print_json([{"image_id": item.image_id, "priority": item.priority} for item in items])
        return 0
    for item in items:
        print(f"{item.image_id:>8}  priority {item.priority:.4f}")
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                json_parent: argparse.ArgumentParser) -> None:
    command = commands.add_parser("user", parents=[json_parent],
                                  help="accounts: `user add NAME [--role ROLE]` (asks for the password), `user list`, "
                                       "`user unlock NAME`")
    command.add_argument("action", choices=["add", "list", "unlock"])
    command.add_argument("name", nargs="?")
    command.add_argument("--password", help="better left out: then it is asked for (or read from standard "
                         "input), and stays out of the shell's history")
    command.add_argument("--role", default="annotator", choices=["annotator", "reviewer", "scientist", "admin"])
    command.add_argument("--sso", action="store_true", help="an account without a password, for the identity "
                         "whose name claim (MEDAL_SSO_NAME_CLAIM, the e-mail address) is NAME: it logs in only "
                         "through single sign-on")
    command.set_defaults(run=cmd_user)

    command = commands.add_parser("next", parents=[json_parent],
                                  help="the next images of the label queue for a user")
    command.add_argument("-n", type=int, default=10)
    command.add_argument("--user", default=config().user, help="default: %(default)s (MEDAL_USER)")
    command.set_defaults(run=cmd_next)
