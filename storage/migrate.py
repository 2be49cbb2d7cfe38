"""Schema migrations through Alembic: ``medal db upgrade`` and the upgrade run on every start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs the project's migrations on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def upgrade_to_head(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision`` (default: the newest); a no-op when already there."""
    if revision == "head" and current_revision(engine) == head_revision():
        return head_revision()
    command.upgrade(alembic_config(engine), revision)
    return current_revision(engine)
