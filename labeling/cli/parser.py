"""The ``medal`` argument parser: the sub-commands of every command module under one root."""

from __future__ import annotations

import argparse

from labeling.cli import admin, data, learning, people, reading


def json_option() -> argparse.ArgumentParser:
    """The parent parser of every command that can print JSON instead of text.

    ``--json`` leaves the namespace alone unless given (the root sets ``json=False``), so a command
    with sub-commands, such as ``models``, accepts it before or after the sub-command.
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON instead of text")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medal", description="Medal: medical active labeling.")
    parser.set_defaults(json=False)
    commands = parser.add_subparsers(dest="command", required=True)
    json_parent = json_option()
    for module in (data, reading, people, learning, admin):
        module.add_parsers(commands, json_parent)
    return parser
