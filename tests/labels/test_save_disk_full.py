"""A save the database's disk refuses (the Label page's Save & next) raises ``StorageFull`` with one clear
sentence, and its transaction is rolled back: no annotation, region or audit event of it is kept."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from labeling.intake import import_paths
from labeling.labels import RegionInput, get_image, list_annotations, list_images, save_annotation
from storage import (
    Annotation,
    AuditEvent,
    ImageStatus,
    Project,
    Region,
    StorageFull,
    current_project,
    storage_full_on_refused_writes,
)
from tests.conftest import pydicom_file
from tests.support.full_disk import full_database, integrity, run_limited

# A polygon of 3,000 points: its row needs new pages of the database, whatever pages it has free.
OUTLINE = [RegionInput("Cancerous", "polygon", [[float(i % 128), float(i // 128)] for i in range(3000)])]


@pytest.fixture
def image_id(project: Project) -> int:
    import_paths([str(pydicom_file("CT_small.dcm"))], project=project)
    return list_images(engine=project.engine)[0].id


def rows(project: Project) -> tuple[int, int, int]:
    with Session(project.engine) as session:
        return tuple(session.exec(select(func.count()).select_from(model)).one()
                     for model in (Annotation, Region, AuditEvent))


def test_a_save_on_a_full_database_is_refused_whole(project: Project, image_id: int) -> None:
    before = rows(project)
    with full_database(project.engine) as full, pytest.raises(StorageFull) as raised:
        full.fill()
        save_annotation(image_id, "ann", OUTLINE, image_label="cancerous", engine=project.engine)
    assert str(raised.value) == ("The server's disk is full: the project's database could not be written; nothing "
                                 "was saved. Free disk space on the server (or ask your IT team), then try again.")
    assert isinstance(raised.value.__cause__, OperationalError)
    assert rows(project) == before and get_image(image_id, engine=project.engine).status == ImageStatus.UNLABELED
    assert integrity(project.engine) == "ok"
    save_annotation(image_id, "ann", OUTLINE, image_label="cancerous",
                    engine=project.engine)  # with space again, the same save works
    assert len(list_annotations(engine=project.engine, image_id=image_id)[0].regions[0].points) == 3000


SAVE = """
from labeling.labels.annotations import RegionInput, save_annotation
from storage.errors import StorageFull
from storage.project import current_project
outline = [RegionInput("Cancerous", "polygon", [[float(i % 128), float(i // 128)] for i in range(3000)])]
try:
    save_annotation(int(sys.argv[1]), "ann", outline, image_label="cancerous", engine=current_project().engine)
except StorageFull as error:
    print(error)
    sys.exit(2)
"""


def test_a_save_the_disk_refuses_to_write_is_refused_whole(project: Project, image_id: int) -> None:
    """The disk, not SQLite, refuses: the write-ahead log cannot grow past 32 KiB (its index file's size)."""
    before, home = rows(project), current_project().home
    project.engine.dispose()  # the log is folded into the database and removed: the child starts a new one
    result = run_limited(SAVE, home, 32 * 1024, str(image_id))
    assert result.returncode == 2, result.stderr
    assert result.stdout.strip().startswith("The server's disk is full or failing: the project's database could "
                                            "not be written; nothing was saved.")
    assert rows(project) == before and get_image(image_id, engine=project.engine).status == ImageStatus.UNLABELED
    assert integrity(project.engine) == "ok"


class PgError(Exception):
    """What psycopg raises: the SQLSTATE and the server's message."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize("original, failing", [
    (sqlite3.OperationalError("database or disk is full"), False),
    (sqlite3.OperationalError("disk I/O error"), True),
    (PgError('could not extend file "base/16384/16385": No space left on device', "53100"), False),
    (PgError("could not write block 12 of temporary file", "53100"), False),
])
def test_every_database_says_full_in_its_own_words(original: Exception, failing: bool) -> None:
    with pytest.raises(StorageFull) as raised, storage_full_on_refused_writes():
        raise OperationalError("INSERT INTO annotation …", {}, original)
    assert raised.value.failing is failing and "the project's database could not be written" in str(raised.value)


def test_other_database_errors_pass_unchanged() -> None:
    with pytest.raises(OperationalError, match="database is locked"), storage_full_on_refused_writes():
        raise OperationalError("UPDATE image …", {}, sqlite3.OperationalError("database is locked"))
