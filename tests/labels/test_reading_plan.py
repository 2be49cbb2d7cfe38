"""Reading plans: each image read by as many different readers as the plan says, never twice by one, a QA
sample of single-read images read twice; on SQLite and on a real PostgreSQL server, with readers at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, col, select

from labeling.access.accounts import add_user
from labeling.access.rights import NotAllowed
from labeling.cli.main import main
from labeling.intake.ingest import import_paths
from labeling.intake.synthetic import SeriesPlace, SyntheticPatient, uid, write_ct_slice
from labeling.labels.annotations import save_annotation, undo_last_save
from labeling.labels.catalog import list_images
from labeling.labels.queue import lease, next_image, peek, skip
from labeling.labels.reading_plan import (
    InvalidPlan,
    ReadingPlan,
    blinded_for,
    current_plan,
    in_qa_sample,
    set_reading_plan,
)
from labeling.labels.review import ReviewRules, accept_reading, review_queue
from storage.db import make_engine
from storage.migrate import upgrade_to_head
from storage.models import Annotation, AuditEvent, Image, ImageStatus, User
from storage.project import Project

READERS = ("ann", "bob", "cy")


def readers(engine, names=READERS, role: str = "annotator") -> None:
    for name in names:
        add_user(name, f"{name}-password", role, engine=engine)


def read_next(name: str, engine) -> int | None:
    item = next_image(name, engine=engine)
    if item is None:
        return None
    save_annotation(item.image_id, name, [], image_label="healthy", engine=engine)
    return item.image_id


def test_two_readers_per_image_each_image_to_two_different_readers(project, make_demo) -> None:
    make_demo(0)
    engine = project.engine
    readers(engine)
    add_user("sam", "sam-password", "scientist", engine=engine)
    set_reading_plan(ReadingPlan(readers=2), engine=engine, actor="sam")
    first = read_next("ann", engine)
    # The image ann read waits for a second reader: bob gets it before any new image; ann never gets it again.
    assert next_image("bob", engine=engine).image_id == first
    assert first not in {item.image_id for item in peek("ann", 400, engine=engine)}
    save_annotation(first, "bob", [], image_label="cancerous", engine=engine)
    assert first not in {item.image_id for item in peek("cy", 400, engine=engine)}  # read twice: done
    with Session(engine) as session:
        image = session.get(Image, first)
        assert (image.readings, image.readings_needed, image.wants_reading) == (2, 2, False)
    # An edit of one's own reading is not a new reader.
    save_annotation(first, "bob", [], image_label="healthy", engine=engine)
    with Session(engine) as session:
        assert session.get(Image, first).readings == 2


def test_changing_the_plan_holds_every_read_image_to_it_and_is_audited(project, make_demo) -> None:
    make_demo(0)
    engine = project.engine
    readers(engine)
    read = [read_next("ann", engine) for _ in range(5)]
    assert not set(read) & {item.image_id for item in peek("bob", 5, engine=engine)}  # one reader: done
    set_reading_plan(ReadingPlan(readers=2), engine=engine)
    assert set(read) == {item.image_id for item in peek("bob", 5, engine=engine)}
    set_reading_plan(ReadingPlan(readers=2, second_readings_first=False), engine=engine)
    by_priority = peek("bob", 400, engine=engine)
    assert [item.priority for item in by_priority] == sorted((item.priority for item in by_priority), reverse=True)
    set_reading_plan(ReadingPlan(readers=1), engine=engine)
    assert not set(read) & {item.image_id for item in peek("bob", 400, engine=engine)}
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "setting.change")).all()
    assert [e.detail["after"]["readers"] for e in events] == [2, 2, 1]
    assert events[0].detail["before"]["readers"] == 1
    with pytest.raises(NotAllowed, match="change the reading plan"):
        set_reading_plan(ReadingPlan(readers=2), engine=engine, actor="ann")
    with pytest.raises(InvalidPlan, match="1 to 3 readers"):
        set_reading_plan(ReadingPlan(readers=4), engine=engine)
    with pytest.raises(InvalidPlan, match="QA sample"):
        set_reading_plan(ReadingPlan(qa_fraction=0.9), engine=engine)
    assert current_plan(engine=engine) == ReadingPlan(readers=1)


def test_the_qa_sample_sends_a_share_of_single_read_images_to_a_second_reader(project, make_demo) -> None:
    make_demo(0)
    engine = project.engine
    readers(engine)
    sampled = [i for i in range(1, 10_001) if in_qa_sample(i, 0.05)]
    assert 0.04 < len(sampled) / 10_000 < 0.06 and sampled == [i for i in range(1, 10_001) if in_qa_sample(i, 0.05)]
    set_reading_plan(ReadingPlan(readers=1, qa_fraction=0.2), engine=engine)
    read = [read_next("ann", engine) for _ in range(60)]
    waiting = {item.image_id for item in peek("bob", 60, engine=engine)} & set(read)
    assert waiting == {i for i in read if in_qa_sample(i, 0.2)} and 4 <= len(waiting) <= 24


def test_undo_and_skip_keep_the_counts(project, make_demo) -> None:
    make_demo(0)
    engine = project.engine
    readers(engine)
    set_reading_plan(ReadingPlan(readers=2), engine=engine)
    first = read_next("ann", engine)
    assert undo_last_save("ann", engine=engine) == first
    with Session(engine) as session:
        image = session.get(Image, first)
        assert (image.readings, image.wants_reading, image.status.value) == (0, False, "unlabeled")
    first = read_next("ann", engine)
    assert next_image("bob", engine=engine).image_id == first
    skip(first, "bob", "poor image quality", engine=engine)  # bob cannot read it: nobody else gets it either
    assert first not in {item.image_id for item in peek("cy", 400, engine=engine)}


def test_medal_plan_sets_and_shows_the_plan(project, make_demo, capsys) -> None:
    make_demo(0)
    assert main(["plan", "--readers", "2", "--qa", "0.05", "--blinded", "yes"]) == 0
    assert "2 readers per image" in capsys.readouterr().out
    assert current_plan(engine=project.engine) == ReadingPlan(readers=2, qa_fraction=0.05)
    assert main(["plan", "--readers", "5"]) == 2
    assert "1 to 3 readers" in capsys.readouterr().err


def write_slices(folder: Path, count: int) -> None:
    place = SeriesPlace(SyntheticPatient("PLAN1", "Plan^One"), date(2025, 1, 1), uid("plan", "study"),
                        uid("plan", "series"), uid("plan", "for"))
    rng = np.random.default_rng(0)
    for index in range(count):
        write_ct_slice(folder / f"{index:03d}.dcm", rng.normal(0, 20, (32, 32)).astype(np.float32), place, index=index)


def read_at_once(engine, names: list[str], reviewers: tuple[str, ...] = ()) -> None:
    """Every reader takes and reads images, all at once, until nothing is left that they could read (as readers
    who come back later: an image leased to another when they asked may need them once it is read); meanwhile
    each reviewer adjudicates every complete image the review queue shows them (the sample takes them all),
    until the readers are done and the queue is empty."""
    failures: list[BaseException] = []
    reading = threading.Event()
    reading.set()

    def open_to(name: str) -> bool:
        """Whether some image is still unread, or waits for a reader other than ``name`` (maybe leased now)."""
        with Session(engine) as session:
            mine = select(Annotation.image_id).join(User, Annotation.user_id == User.id).where(User.name == name)
            return session.exec(select(Image.id).where(
                (Image.status == ImageStatus.UNLABELED) | (col(Image.wants_reading) & col(Image.id).not_in(mine)))
                .limit(1)).first() is not None

    def read(name: str) -> None:
        try:
            while read_next(name, engine) is not None or open_to(name):  # a leased image may come back to the queue
                time.sleep(0.01)
        except BaseException as error:  # noqa: BLE001 (reported below, in the test's thread)
            failures.append(error)

    def review(name: str) -> None:
        try:
            while True:
                queue = review_queue(engine=engine, actor=name, rules=ReviewRules(sample_agreeing=1.0))
                if not queue and not reading.is_set():
                    return
                for item in queue[:3]:
                    accept_reading(item.image_id, item.readers[0], engine=engine, actor=name, reason="agreed")
                time.sleep(0.02)
        except BaseException as error:  # noqa: BLE001 (reported below, in the test's thread)
            failures.append(error)

    readers = [threading.Thread(target=read, args=(name,)) for name in names]
    adjudicators = [threading.Thread(target=review, args=(name,)) for name in reviewers]
    for thread in readers + adjudicators:
        thread.start()
    for thread in readers:
        thread.join(timeout=300)
    reading.clear()
    for thread in adjudicators:
        thread.join(timeout=300)
    assert not failures, failures


def check_every_image_read_by_two(engine) -> None:
    with Session(engine) as session:
        rows = session.exec(select(Annotation.image_id, User.name).join(User, Annotation.user_id == User.id)
                            .where(col(Annotation.is_current), User.name != "consensus")).all()
        images = session.exec(select(Image.id, Image.readings)).all()
    per_image = Counter(image_id for image_id, _ in rows)
    assert len(rows) == len(set(rows))  # no reader read an image twice
    assert all(per_image[image_id] == 2 == readings for image_id, readings in images), per_image


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_six_readers_and_two_reviewers_at_once_lose_nothing(database, tmp_path, request) -> None:
    folder = tmp_path / "slices"
    folder.mkdir()
    write_slices(folder, 40)
    if database == "sqlite":
        project = Project.open(tmp_path / "home")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        upgrade_to_head(engine)
        project = Project(tmp_path / "home", engine)
    engine = project.engine
    import_paths([folder], project=project, workers=1)
    names = [f"reader{n}" for n in range(6)]
    readers(engine, names)
    readers(engine, ("rita", "rob"), role="reviewer")
    set_reading_plan(ReadingPlan(readers=2), engine=engine)
    read_at_once(engine, names, reviewers=("rita", "rob"))
    check_every_image_read_by_two(engine)
    with Session(engine) as session:  # every image adjudicated once or more (two reviewers may both): one current
        consensus = session.exec(select(Annotation.image_id).join(User, Annotation.user_id == User.id)
                                 .where(col(Annotation.is_current), User.name == "consensus")).all()
        assert sorted(consensus) == sorted(session.exec(select(Image.id)).all())
    if database == "postgresql":
        engine.dispose()


def test_a_blinded_reader_does_not_learn_that_another_reading_exists(project, make_demo) -> None:
    make_demo(0)
    engine = project.engine
    readers(engine)
    add_user("rita", "rita-password", "reviewer", engine=engine)
    set_reading_plan(ReadingPlan(readers=2), engine=engine)
    first = read_next("ann", engine)

    def status_for(reader: str | None, **filters) -> dict[int, str]:
        return {i.id: i.status for i in list_images(engine=engine, blind_for=reader, **filters)}

    assert blinded_for("bob", engine=engine) and not blinded_for("rita", engine=engine)
    assert status_for("bob")[first] == "unlabeled" and status_for("ann")[first] == "labeled"
    assert first in status_for("bob", status="unlabeled") and first not in status_for("bob", status="labeled")
    assert status_for(None)[first] == "labeled"  # a reviewer, an admin, the shell
    save_annotation(first, "bob", [], image_label="healthy", engine=engine)
    assert status_for("cy")[first] == "labeled"  # read as the plan wants: no longer hidden
    set_reading_plan(ReadingPlan(readers=3, blinded=False), engine=engine)
    assert not blinded_for("cy", engine=engine)
    set_reading_plan(ReadingPlan(readers=1), engine=engine)
    assert not blinded_for("cy", engine=engine)  # one reader per image: there is nobody to be blinded to


def test_a_blinded_reader_does_not_learn_who_holds_an_image(project, make_demo) -> None:
    make_demo(0)
    engine = project.engine
    readers(engine)
    add_user("rita", "rita-password", "reviewer", engine=engine)
    taken = next_image("ann", engine=engine).image_id
    assert lease(taken, "bob", engine=engine).name == "ann"  # one reader per image: names help coordinate
    set_reading_plan(ReadingPlan(readers=2), engine=engine)
    assert lease(taken, "bob", engine=engine).name == "Another reader"
    assert lease(taken, "rita", engine=engine).name == "ann"  # reviewers see every reading
