"""The label queue: the next image for a user, leased so that no two annotators get it at once.

Priority is a number per image, higher first. Before any model exists, ``spread_priorities`` gives
an order that goes round the patients (one image each, then the next), and within a patient round
its studies, so the first labels cover many patients and dates instead of one series of slices.
Once a model exists the learner writes its uncertainty into the same column.

A lease is a user id and an expiry on the image row, taken by one conditional UPDATE: a second
user's UPDATE finds the row no longer free and moves on to the next candidate. A user holds one
lease at a time; it lapses after ``MEDAL_LEASE_MINUTES`` if they walk away.

This module is the only writer of ``Image.priority`` (``set_priorities``): the cold start here, the
learner's scores and the benchmarks all go through it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.access import rights
from labeling.dicom import FrameCache
from labeling.labels.annotations import refuse_if_leased_to_another
from labeling.labels.reading_plan import ReadingPlan, blinded_for, plan_in
from labeling.labels.spread import cold_start, simple_features, standardise
from storage import (
    Annotation,
    AuditEvent,
    Image,
    ImageNotFound,
    ImageStatus,
    MedalError,
    Patient,
    Prediction,
    Project,
    Study,
    User,
    as_utc,
    config,
    up_to_patient,
    utcnow,
    write_session,
)

COLD_START_PICKS = 50  # the first images offered: the most typical member of each of 50 clusters of image features
COLD_START_SAMPLE = 500  # clustered among this many images of the patient round-robin (cheap at any scale)
SKIP_REASONS = ("poor image quality", "not sure", "wrong body part or view", "artefact", "other")


class UnknownUser(MedalError):
    """A queue request for a user name that has no account."""


@dataclass(frozen=True)
class QueueItem:
    image_id: int
    priority: float


@dataclass(frozen=True)
class LeaseHolder:
    """Who else is working on an image right now."""

    name: str
    until: datetime


def _user_id(session: Session, username: str) -> int:
    user_id = session.exec(select(User.id).where(User.name == username)).first()
    if user_id is None:
        raise UnknownUser(f"There is no user {username!r}; add one with `medal user add`.")
    return user_id


def _free_for(user_id: int, now: datetime):  # noqa: ANN202 (an SQL expression)
    return or_(col(Image.leased_by).is_(None), Image.leased_by == user_id, col(Image.lease_until) < now)


def _waiting_for(user_id: int, now: datetime):  # noqa: ANN202 (an SQL expression)
    """Labeled images whose reading plan wants another reader, that this user has not read and may take."""
    read = (select(Annotation.id).where(Annotation.image_id == Image.id, Annotation.user_id == user_id,
                                        Annotation.is_current).exists())
    return and_(col(Image.wants_reading), _free_for(user_id, now), ~read)


def _new_for(user_id: int, now: datetime):  # noqa: ANN202 (an SQL expression)
    return and_(Image.status == ImageStatus.UNLABELED, _free_for(user_id, now))


def _best(session: Session, condition, count: int, exclude: tuple[int, ...] = (),  # noqa: ANN001
          lock: bool = False) -> list[tuple[int, float]]:
    if exclude:
        condition = and_(condition, col(Image.id).not_in(exclude))
    statement = select(Image.id, Image.priority).where(condition).order_by(col(Image.priority).desc(), Image.id)
    if lock:
        statement = statement.with_for_update(skip_locked=True)
    return list(session.exec(statement.limit(count)).all())


def _in_order(waiting: list[tuple[int, float]], new: list[tuple[int, float]], plan: ReadingPlan,
              count: int) -> list[tuple[tuple[int, float], bool]]:
    """The next ``count`` images, each with whether it is another reading: by priority, or (the plan's
    ``second_readings_first``) every image waiting for its next reader first, so double-read sets complete."""
    tagged = [(item, True) for item in waiting] + [(item, False) for item in new]
    first = (lambda entry: (not entry[1], -entry[0][1], entry[0][0])) if plan.second_readings_first else \
        (lambda entry: (-entry[0][1], entry[0][0]))
    return sorted(tagged, key=first)[:count]


def peek(username: str, count: int = 10, *, engine: Engine) -> list[QueueItem]:
    """The next ``count`` images this user would get, without leasing them (``medal next``)."""
    now = utcnow()
    with Session(engine) as session:
        user_id = _user_id(session, username)
        chosen = _in_order(_best(session, _waiting_for(user_id, now), count),
                           _best(session, _new_for(user_id, now), count), plan_in(session), count)
    return [QueueItem(image_id, priority) for (image_id, priority), _ in chosen]


def next_image(username: str, *, engine: Engine, exclude: tuple[int, ...] = ()) -> QueueItem | None:
    """Lease and return the highest-priority image free for this user (None: queue empty): an unlabeled one, or
    one the reading plan wants another reader for that this user has not read (``reading_plan``).

    Any other lease the user holds is given back in the same transaction.
    """
    for _ in range(20):
        now = utcnow()
        with write_session(engine=engine) as session:
            user_id = _user_id(session, username)
            waiting, new = _waiting_for(user_id, now), _new_for(user_id, now)
            chosen = _in_order(_best(session, waiting, 1, exclude, lock=True),
                               _best(session, new, 1, exclude, lock=True), plan_in(session), 1)
            if not chosen:
                _release(session, user_id)
                session.commit()
                return None
            (image_id, priority), another = chosen[0]
            taken = session.execute(update(Image).where(Image.id == image_id, waiting if another else new)
                                    .values(leased_by=user_id,
                                            lease_until=now + timedelta(minutes=config().lease_minutes)))
            if taken.rowcount == 1:
                _release(session, user_id, keep=image_id)
                session.commit()
                return QueueItem(image_id, priority)
            session.rollback()
    raise MedalError("The label queue is too busy right now; try again in a moment.")


def lease(image_id: int, username: str, *, engine: Engine) -> LeaseHolder | None:
    """Lease a given image to the user (opened from Images, or going back); if someone else holds
    it, leave their lease alone and say who (the image can still be viewed). The Label page asks on
    every rerun: a lease of one's own with more than half its time left is kept without a write."""
    now = utcnow()
    with Session(engine) as session:
        held = session.exec(select(Image.lease_until).join(User, Image.leased_by == User.id)
                            .where(Image.id == image_id, User.name == username)).first()
    if held is not None and as_utc(held) - now > timedelta(minutes=config().lease_minutes / 2):
        return None
    with write_session(engine=engine) as session:
        user_id = _user_id(session, username)
        image = session.get(Image, image_id)
        if image is None:
            raise ImageNotFound(f"There is no image {image_id} in this project.")
        until = image.lease_until
        if image.leased_by not in (None, user_id) and until is not None and as_utc(until) > now:
            holder = session.get(User, image.leased_by)
            if holder is None or blinded_for(username, engine=engine):  # a blinded reader learns no other reader
                return LeaseHolder("Another reader", as_utc(until))
            return LeaseHolder(holder.name, as_utc(until))
        image.leased_by, image.lease_until = user_id, now + timedelta(minutes=config().lease_minutes)
        session.add(image)
        _release(session, user_id, keep=image_id)
        session.commit()
    return None


def release(username: str, *, engine: Engine) -> None:
    """Give back every lease the user holds (log-out)."""
    with write_session(engine=engine) as session:
        _release(session, _user_id(session, username))
        session.commit()


def _release(session: Session, user_id: int, keep: int | None = None) -> None:
    statement = update(Image).where(Image.leased_by == user_id)
    if keep is not None:
        statement = statement.where(Image.id != keep)
    session.execute(statement.values(leased_by=None, lease_until=None))


def skip(image_id: int, username: str, reason: str, *, engine: Engine) -> None:
    """Take an image out of the queue with a reason (audited); it shows as skipped on Images."""
    reason = reason.strip()
    if not reason:
        raise MedalError("Say why the image is skipped (e.g. poor image quality).")
    with write_session(engine=engine) as session:
        rights.check(session, username, rights.LABEL)
        user_id = _user_id(session, username)
        image = session.get(Image, image_id)
        if image is None:
            raise ImageNotFound(f"There is no image {image_id} in this project.")
        refuse_if_leased_to_another(session, image, session.get(User, user_id))  # as a save is
        if image.status is ImageStatus.UNLABELED:
            image.status = ImageStatus.SKIPPED
        # A reader who cannot read it takes it out of the queue for the readers still to come, too.
        image.skip_reason, image.leased_by, image.lease_until, image.wants_reading = reason[:256], None, None, False
        session.add(image)
        session.add(AuditEvent(user_id=user_id, username=username, action="image.skip", entity="image",
                               entity_id=image_id, detail={"reason": reason}))
        session.commit()


def refresh_cold_start(*, project: Project) -> int:
    """Re-spread the queue after an import, unless a model's priorities are in charge (some image has
    been scored)."""
    with Session(project.engine) as session:
        if session.exec(select(Prediction.id).limit(1)).first() is not None:
            return 0
    return spread_priorities(project=project)


def set_priorities(priorities: dict[int, float], *, engine: Engine) -> None:
    """Write the queue order: ``{image_id: priority}``, higher first, in a transaction of its own."""
    with write_session(engine=engine) as session:
        write_priorities(session, priorities)
        session.commit()


def write_priorities(session: Session, priorities: dict[int, float]) -> None:
    """Within the caller's transaction: the queue order, ``{image_id: priority}`` (the one writer of
    priorities; the learner publishes them together with its predictions)."""
    items = list(priorities.items())
    for start in range(0, len(items), 2000):
        session.execute(update(Image), [{"id": image_id, "priority": float(priority)}
                                        for image_id, priority in items[start:start + 2000]])


def spread_priorities(*, project: Project) -> int:
    """Cold-start order for unlabeled images: round-robin over patients, and over each one's studies.

    Priorities are ``-rank`` (so anything a model writes, in 0..1, comes first). Images without a
    patient are grouped by their folder. Returns how many images were ranked.
    """
    with Session(project.engine) as session:
        rows = session.exec(
            up_to_patient(select(Image.id, Image.path, Patient.key, Study.study_date, Study.id, Image.series_id,
                                 Image.instance_number, Image.frame, Image.cache_key))
            .where(Image.status == ImageStatus.UNLABELED)).all()
    studies: dict[str, dict[object, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    cache_keys, groups = {}, {}
    for image_id, path, patient_key, study_date, study_id, series_id, number, frame, cache_key in rows:
        group = patient_key or f"folder:{PurePath(path.split('!')[0]).parent}"
        cache_keys[image_id], groups[image_id] = cache_key, (group, str(study_id))
        studies[group][(study_date or datetime.min.date(), study_id)].append(
            (series_id or 0, number or 0, frame, image_id))
    per_patient: dict[str, list[int]] = {}
    for group, by_study in studies.items():
        ordered = [_middle_out([item[-1] for item in sorted(images)])
                   for _, images in sorted(by_study.items(), key=str)]
        per_patient[group] = _round_robin(ordered)
    # Patients in the order their images came in (their keys are keyed hashes, different in every project).
    patients = sorted(per_patient, key=lambda group: min(per_patient[group]))
    order = feature_spread(_round_robin([per_patient[group] for group in patients]), cache_keys, groups,
                           project=project)
    set_priorities({image_id: -float(rank) for rank, image_id in enumerate(order)}, engine=project.engine)
    return len(order)


def feature_spread(order: list[int], cache_keys: dict[int, str], groups: dict[int, tuple[str, str]], *,
                   project: Project) -> list[int]:
    """Put first the image nearest each centre of ``COLD_START_PICKS`` k-means clusters of simple image
    features (thumbnail + histogram of the default rendering), found in a patient-balanced sample, in
    patient round-robin (and round-robin over each patient's studies): every sampled patient's first
    image (a pick, or its first in ``order`` when none of its images was picked) comes before any
    patient's second. ``groups`` maps an image to its (patient, study). Without rendered previews,
    ``order`` is kept."""
    sample, cache = order[:COLD_START_SAMPLE], FrameCache(project.cache_dir)
    if len(sample) <= 2:
        return order
    pictures = []
    for image_id in sample:
        path = cache.preview_path(cache_keys[image_id])
        if not path.exists():
            return order
        with PILImage.open(path) as picture:
            pictures.append(np.asarray(picture.convert("L").resize((32, 32)), dtype=np.float32))
    features = simple_features(standardise(np.stack(pictures)))
    picks = [sample[i] for i in cold_start(features, min(COLD_START_PICKS, len(sample) - 1))]
    by_patient: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for image_id in picks:
        patient, study = groups[image_id]
        by_patient[patient][study].append(image_id)
    uncovered: dict[str, int] = {}
    for image_id in sample:
        if groups[image_id][0] not in by_patient:
            uncovered.setdefault(groups[image_id][0], image_id)
    place = {image_id: rank for rank, image_id in enumerate(order)}
    picked_patients = sorted(by_patient.values(),
                             key=lambda studies: min(place[i] for images in studies.values() for i in images))
    head = _round_robin([_round_robin([studies[s] for s in sorted(studies)]) for studies in picked_patients]
                        + [[first] for first in uncovered.values()])
    chosen = set(head)
    return head + [image_id for image_id in order if image_id not in chosen]


def _round_robin(lists: list[list[int]]) -> list[int]:
    """Items taken one from each list in turn."""
    result: list[int] = []
    for depth in range(max((len(items) for items in lists), default=0)):
        result.extend(items[depth] for items in lists if depth < len(items))
    return result


def _middle_out(items: list[int]) -> list[int]:
    """Bisection order (middle, quarters, eighths…), so a series' first picks are far apart."""
    if len(items) <= 2:
        return list(items)
    order, seen, queue = [], set(), [(0, len(items) - 1)]
    while queue:
        low, high = queue.pop(0)
        if low > high:
            continue
        middle = (low + high) // 2
        if middle not in seen:
            seen.add(middle)
            order.append(items[middle])
        queue.extend([(low, middle - 1), (middle + 1, high)])
    return order

