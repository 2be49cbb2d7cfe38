"""The Label page on a server whose disk refuses writes: a clear error box, never a traceback."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import streamlit as st
from sqlalchemy import event
from sqlalchemy.engine import Engine

from labeling.labels import list_annotations, list_images
from storage import Project
from tests.support.pages import button, draw_rect, label_state, logged_in

SAYS = "The server's disk is full or failing: the project's database could not be written; nothing was saved."


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    st.cache_resource.clear()
    st.cache_data.clear()
    yield


@contextmanager
def refused_writes(engine: Engine) -> Iterator[None]:
    """Every INSERT and UPDATE fails as SQLite fails on a disk that refuses a write ("disk I/O error")."""
    def refuse(_connection, _cursor, statement: str, *_rest) -> None:  # noqa: ANN001, ANN002
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise sqlite3.OperationalError("disk I/O error")

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


def plain(text: str) -> str:
    return text.replace("\\", "")  # the error box escapes Markdown


def test_opening_an_image_when_the_disk_refuses_writes_shows_an_error(project: Project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    other = next(image.id for image in list_images(engine=project.engine) if image.id != label_state(at).image_id)
    with refused_writes(project.engine):  # the app's engine too
        label_state(at).open_request = other  # opening it leases it: a write
        at.run()
    assert not at.exception, at.exception
    assert SAYS in plain(at.error[0].value)


def test_save_when_the_disk_refuses_writes_shows_an_error_and_saves_nothing(project: Project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    first = label_state(at).image_id
    draw_rect(at, 30, 40, 50, 20)
    with refused_writes(project.engine):
        button(at, "Save & next").click().run()
    assert list_annotations(engine=project.engine, annotator="ann") == []
    assert not at.exception, at.exception
    assert SAYS in plain(at.error[0].value) and label_state(at).image_id == first
