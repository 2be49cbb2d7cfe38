"""The project's reading plan: how many different readers read each image, blinded or not, and the share of
single-read images a second reader reads anyway (a QA sample, so agreement is known on every project).

The plan is a project setting, changeable at any time by a scientist or an admin (checked against the
account as it is now) and audited with its before and after. Each image keeps its own count: ``readings``
(readers with a current annotation), ``readings_needed`` (what the plan wants of it, fixed at its first
reading and again whenever the plan changes) and ``wants_reading`` (labeled, and fewer readings than
needed), which the queue reads (``labeling.labels.queue``) through an index. Which images fall in the QA
sample is a hash of the image id: the same images whenever the plan is set again, on any database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.access import rights
from storage import AuditEvent, Image, ImageStatus, MedalError, ProjectSetting, User, write_session

PLAN_KEY = "labels.reading_plan"
MAX_READERS = 3
MAX_QA_FRACTION = 0.5
DISAGREEING = ("each", "majority", "leave-out")  # until a reviewer's consensus: every reading, the majority's, none


class InvalidPlan(MedalError):
    """A reading plan Medal cannot run (too many readers, a QA share out of range)."""


@dataclass(frozen=True)
class ReadingPlan:
    readers: int = 1  # different readers per image: 1, 2 or 3
    blinded: bool = True  # while an image still needs readings, a reader sees no other reader's work
    qa_fraction: float = 0.0  # of single-read images, the share a second reader reads anyway
    second_readings_first: bool = True  # an image waiting for its next reader comes before new images
    disagreeing: str = "each"  # what training learns from readings that disagree: each, majority or leave-out

    def check(self) -> ReadingPlan:
        if self.readers not in range(1, MAX_READERS + 1):
            raise InvalidPlan(f"A reading plan has 1 to {MAX_READERS} readers per image, not {self.readers}.")
        if not 0 <= self.qa_fraction <= MAX_QA_FRACTION:
            raise InvalidPlan(f"The QA sample is a share of images from 0 to {MAX_QA_FRACTION} (e.g. 0.05), not "
                              f"{self.qa_fraction}.")
        if self.disagreeing not in DISAGREEING:
            raise InvalidPlan(f"Training takes disagreeing readings as {', '.join(DISAGREEING)}, not "
                              f"{self.disagreeing!r}.")
        return self

    def needed(self, image_id: int) -> int:
        """Readers this image needs: the plan's, or two for a single-read image in the QA sample."""
        return 2 if self.readers == 1 and in_qa_sample(image_id, self.qa_fraction) else self.readers


def in_qa_sample(image_id: int, fraction: float) -> bool:
    """Whether the image is in a QA sample of ``fraction`` of all images (a stable hash of its id)."""
    return in_sample(str(image_id), fraction)


def in_sample(key: str, fraction: float) -> bool:
    """Whether ``key`` falls in a sample of ``fraction`` of all keys: a stable hash, the same on any database."""
    if fraction <= 0:
        return False
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def current_plan(*, engine: Engine) -> ReadingPlan:
    """The project's reading plan (one reader, blinded, no QA sample until someone sets one)."""
    with Session(engine) as session:
        return plan_in(session)


def plan_in(session: Session) -> ReadingPlan:
    """The plan, read inside the caller's transaction (a save fixes an image's readings_needed with it)."""
    setting = session.get(ProjectSetting, PLAN_KEY)
    return ReadingPlan(**json.loads(setting.value)) if setting else ReadingPlan()


def blinded_for(reader: str, *, engine: Engine) -> bool:
    """Whether ``reader`` reads blinded now: the plan is blinded, some image is read more than once (two readers
    or more, or a QA sample), and their role may not see every reading (reviewers and admins may,
    ``rights.SEE_ALL_READINGS``); checked against the account as it is now."""
    with Session(engine) as session:
        plan = plan_in(session)
        if not plan.blinded or (plan.readers == 1 and plan.qa_fraction == 0):
            return False
        role = session.exec(select(User.role).where(User.name == reader)).first()
    return role is None or not rights.allows(rights.SEE_ALL_READINGS, role)


def set_reading_plan(plan: ReadingPlan, *, engine: Engine, actor: str | None = None) -> ReadingPlan:
    """Make ``plan`` the project's (audited with the plan before); every image read so far is held to it at once:
    one that now needs another reader goes back to the queue, one that had waited for one leaves it."""
    plan = plan.check()
    with write_session(engine=engine) as session:
        user = rights.check(session, actor, rights.READING_PLAN)
        before = plan_in(session)
        setting = session.get(ProjectSetting, PLAN_KEY) or ProjectSetting(key=PLAN_KEY, value="")
        setting.value = json.dumps(asdict(plan))
        session.add(setting)
        read = session.exec(select(Image.id, Image.readings, Image.readings_needed)
                            .where(col(Image.readings) > 0)).all()
        changes = [{"id": image_id, "readings_needed": plan.needed(image_id)} for image_id, _, needed in read
                   if plan.needed(image_id) != needed]
        for start in range(0, len(changes), 2000):
            session.execute(update(Image), changes[start:start + 2000])
        session.execute(update(Image).where(col(Image.readings) > 0)
                        .values(wants_reading=(Image.status == ImageStatus.LABELED)
                                & (col(Image.readings) < col(Image.readings_needed))))
        session.add(AuditEvent(user_id=user.id if user else None, username=actor, action="setting.change",
                               entity="project_setting",
                               detail={"key": PLAN_KEY, "before": asdict(before), "after": asdict(plan)}))
        session.commit()
    return plan


def count_reading(session: Session, image: Image, new_reader: bool) -> None:
    """Within a save's transaction: one more reader of ``image`` when ``new_reader``; what the plan wants of it
    is fixed at its first reading; whether it waits for another reader follows."""
    if new_reader:
        if image.readings == 0:
            image.readings_needed = plan_in(session).needed(image.id)
        image.readings += 1
    image.wants_reading = image.status is ImageStatus.LABELED and image.readings < image.readings_needed


def uncount_reading(image: Image) -> None:
    """Within an undo's transaction: a reader's only reading of ``image`` was taken back."""
    image.readings = max(0, image.readings - 1)
    image.wants_reading = image.status is ImageStatus.LABELED and 0 < image.readings < image.readings_needed
