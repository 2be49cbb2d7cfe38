"""The label queue: priority order, cold-start spread, leases that two users never share."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlalchemy import update
from sqlmodel import Session, col, select

from benchmarks.loop import write_nodule_files
from labeling.access import add_user
from labeling.intake import import_paths
from labeling.labels import (
    RegionInput,
    cold_start,
    get_image,
    lease,
    list_images,
    next_image,
    peek,
    release,
    render_frame,
    save_annotation,
    simple_features,
    skip,
    standardise,
)
from labeling.labels.queue import COLD_START_PICKS, UnknownUser, feature_spread
from storage import Image, Patient, Project, up_to_patient, utcnow


@pytest.fixture
def demo(project, make_demo):
    make_demo(0)  # the cold-start order is the same every run (it does not depend on the patient keys)
    for name in ("ann", "bob"):
        add_user(name, f"{name}-password", engine=project.engine)
    return project


def test_cold_start_spreads_over_patients_and_studies(demo) -> None:
    first = peek("ann", 28, engine=demo.engine)
    summaries = {s.id: s for s in list_images(engine=demo.engine)}
    patients = [summaries[item.image_id].patient_key for item in first]
    assert len(set(patients[:14])) == 14  # one image of every patient before any second one
    per_patient_studies = Counter((summaries[i.image_id].patient_key, summaries[i.image_id].study_date)
                                  for i in first)
    # The studies spread too; feature clusters may take a few images of one study.
    assert max(per_patient_studies.values()) <= 3 and len(per_patient_studies) >= 18
    assert [i.priority for i in first] == sorted((i.priority for i in first), reverse=True)


def test_cold_start_leads_with_the_centres_of_image_feature_clusters(demo, project) -> None:
    """Before any model, the first COLD_START_PICKS images are k-means picks over simple features of
    the default renderings (not random, not only the folder structure)."""
    ids = [s.id for s in list_images(engine=demo.engine)]
    pictures = []
    for image_id in ids:
        picture = PILImage.fromarray(render_frame(get_image(image_id, engine=demo.engine),
                                                  project=project)).convert("L").resize((32, 32))
        pictures.append(np.asarray(picture, dtype=np.float32))
    picks = {ids[i] for i in cold_start(simple_features(standardise(np.stack(pictures))), COLD_START_PICKS)}
    keys = {image_id: get_image(image_id, engine=demo.engine).cache_key for image_id in ids}
    spread = feature_spread(ids, keys, {image_id: ("one folder", "") for image_id in ids}, project=project)
    assert set(spread[:COLD_START_PICKS]) == picks and sorted(spread) == ids


def test_priority_order_and_leases(demo) -> None:
    with Session(demo.engine) as session:
        session.execute(update(Image).where(Image.id == 7).values(priority=0.9))
        session.commit()
    ann = next_image("ann", engine=demo.engine)
    assert ann.image_id == 7
    bob = next_image("bob", engine=demo.engine)
    assert bob.image_id != 7 and 7 not in [i.image_id for i in peek("bob", 500, engine=demo.engine)]
    assert next_image("ann", engine=demo.engine).image_id == 7  # asking again keeps one's own lease
    holder = lease(7, "bob", engine=demo.engine)
    assert holder.name == "ann"
    with Session(demo.engine) as session:  # ann walks away: her lease lapses
        session.execute(update(Image).where(Image.id == 7).values(lease_until=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert lease(7, "bob", engine=demo.engine) is None and get_image(7, engine=demo.engine).leased_by is not None
    release("bob", engine=demo.engine)
    assert get_image(7, engine=demo.engine).leased_by is None


def test_saved_and_skipped_leave_the_queue(demo) -> None:
    item = next_image("ann", engine=demo.engine)
    save_annotation(item.image_id, "ann", [RegionInput("Healthy", "rect", [[1, 1], [9, 1], [9, 9], [1, 9]])],
                    engine=demo.engine)
    assert get_image(item.image_id, engine=demo.engine).leased_by is None
    second = next_image("ann", engine=demo.engine)
    skip(second.image_id, "ann", "poor image quality", engine=demo.engine)
    queued = {i.image_id for i in peek("bob", 1000, engine=demo.engine)}
    assert item.image_id not in queued and second.image_id not in queued
    with pytest.raises(UnknownUser):
        next_image("mallory", engine=demo.engine)


def test_concurrent_users_never_get_the_same_image(demo) -> None:
    names = [f"user{i}" for i in range(6)]
    for name in names:
        add_user(name, "long-password", engine=demo.engine)
    got: dict[str, list[int]] = {name: [] for name in names}
    barrier = threading.Barrier(len(names))

    def work(name: str) -> None:
        barrier.wait()
        for _ in range(8):
            item = next_image(name, engine=demo.engine)
            got[name].append(item.image_id)
            save_annotation(item.image_id, name, [], image_label="healthy", engine=demo.engine)

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [image_id for ids in got.values() for image_id in ids]
    assert len(taken) == 48 and len(set(taken)) == 48


def test_a_save_on_an_image_leased_to_someone_else_is_refused(demo) -> None:
    from labeling.labels import lease as take_lease
    from labeling.labels.annotations import LeasedToAnother

    item = next_image("ann", engine=demo.engine)
    box = [RegionInput("Cancerous", "rect", [[1, 1], [9, 1], [9, 9], [1, 9]])]
    with pytest.raises(LeasedToAnother, match=r"ann is labeling image \d+ until"):
        save_annotation(item.image_id, "bob", box, image_label="cancerous", engine=demo.engine)
    save_annotation(item.image_id, "ann", box, image_label="cancerous", engine=demo.engine)  # the holder saves
    assert take_lease(item.image_id, "bob", engine=demo.engine) is None  # given back on save: now bob may edit it
    save_annotation(item.image_id, "bob", box, image_label="healthy", engine=demo.engine)


def test_the_cold_start_order_does_not_depend_on_the_projects_patient_key_secret(tmp_path) -> None:
    """Two projects import the same files: their patient keys differ (a keyed hash with each project's secret),
    their queues do not — patients come in the order their images came in."""
    write_nodule_files(tmp_path / "files", 24)
    orders, keys = [], []
    for name in ("first", "second"):
        project = Project.open(tmp_path / name)
        try:
            import_paths([tmp_path / "files"], project=project)
            with Session(project.engine) as session:
                rows = session.exec(up_to_patient(select(Image.sop_instance_uid, Patient.key))
                                    .order_by(col(Image.priority).desc(), Image.id)).all()
        finally:
            project.close()
        orders.append([uid for uid, _ in rows])
        keys.append({key for _, key in rows})
    assert len(orders[0]) == 24 and keys[0].isdisjoint(keys[1])
    assert orders[0] == orders[1]


def _ct_series(engine) -> list[int]:
    """A CT series of the demo.engine, in anatomical order."""
    from labeling.labels import series_slices

    with Session(engine) as session:
        first = session.exec(select(Image).where(Image.modality == "CT").order_by(Image.id)).first()
    return [image.id for image in series_slices(first.id, engine=engine)]


def test_a_reading_saves_only_slices_of_the_series_on_screen_and_all_or_nothing(demo) -> None:
    """Issue 22 (4): a forged Save named 61 images (image 10 saved while 86 was on screen), and a refused slice
    left the others saved."""
    from labeling.labels import lease as take_lease
    from labeling.labels import list_annotations, save_reading
    from labeling.labels.annotations import LeasedToAnother, NotInSeries

    series = _ct_series(demo.engine)
    on_screen, other_slice, leased_slice = series[len(series) // 2], series[0], series[-1]
    elsewhere = next(i.id for i in list_images(engine=demo.engine) if i.id not in series)
    box = [RegionInput("Cancerous", "rect", [[1, 1], [9, 1], [9, 9], [1, 9]])]
    with pytest.raises(NotInSeries, match=f"Image\\(s\\) {elsewhere} are not slices of the series on screen"):
        save_reading(on_screen, "bob", {on_screen: box, elsewhere: box}, image_label="cancerous", engine=demo.engine)
    assert list_annotations(engine=demo.engine, annotator="bob") == []
    assert take_lease(leased_slice, "ann", engine=demo.engine) is None  # ann holds a slice of the series now
    with pytest.raises(LeasedToAnother):
        save_reading(on_screen, "bob", {other_slice: box, on_screen: box, leased_slice: box}, engine=demo.engine)
    assert list_annotations(engine=demo.engine, annotator="bob") == []  # the slices before the refused one were not kept
    save_reading(on_screen, "bob", {other_slice: box, on_screen: []}, image_label="cancerous", engine=demo.engine)
    saved = {a.image_id: a for a in list_annotations(engine=demo.engine, annotator="bob")}
    assert set(saved) == {other_slice, on_screen}
    assert saved[on_screen].image_label == "cancerous" and saved[other_slice].image_label is None


def test_a_skip_of_an_image_leased_to_someone_else_is_refused(demo) -> None:
    from labeling.labels.annotations import LeasedToAnother

    item = next_image("ann", engine=demo.engine)
    with pytest.raises(LeasedToAnother, match=rf"ann is labeling image {item.image_id} until"):
        skip(item.image_id, "bob", "artefact", engine=demo.engine)
    image = get_image(item.image_id, engine=demo.engine)
    assert image.status.value == "unlabeled" and image.skip_reason is None
    skip(item.image_id, "ann", "artefact", engine=demo.engine)  # the holder may
    assert get_image(item.image_id, engine=demo.engine).skip_reason == "artefact"
