"""Review and adjudication: the images whose readings disagree, and the consensus reading a reviewer makes.

An image comes to review once every reading its plan wants is in (``reading_plan``) and it has no consensus
yet, when its readings disagree by the rules (``ReviewRules``): the image labels differ; one reader marked a
finding and another did not; regions matched by overlap (``agreement.match_regions``) have a Dice below the
threshold, or a region of one reader matches none of another's. A share of the agreeing images comes too
(a stable hash of the image id), so a reviewer also checks readings that agree.

The consensus is its own reading, by the reserved annotator ``consensus``: versioned like every annotation,
with who adjudicated, from which readings (annotation ids) and why, and audited (``review.adjudicate``). A
reviewer accepts one reading, merges regions taken from several, or saves regions they edited.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import ImageDraw
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from labeling.access import CONSENSUS, rights
from labeling.labels.agreement import has_finding, image_label, match_regions
from labeling.labels.annotations import RegionInput, SavedAnnotation, add_annotation, list_annotations, user_named
from labeling.labels.catalog import get_image
from labeling.labels.pictures import render_frame
from labeling.labels.reading_plan import in_sample
from labeling.labels.taxonomy import NORMAL_CODE
from storage import Image, ImageNotFound, LabelClass, MedalError, Project, write_session


class ReviewError(MedalError):
    """An adjudication Medal cannot store as asked (no reason, a reading of another image, no such region)."""


@dataclass(frozen=True)
class ReviewRules:
    dice_below: float = 0.5  # matched regions overlapping less than this disagree
    sample_agreeing: float = 0.1  # share of agreeing images that come to review anyway


@dataclass(frozen=True)
class ReviewItem:
    image_id: int
    readers: list[str]
    reasons: list[str]  # why it is here, one sentence each; "agreeing (random sample)" for the sample

    @property
    def disagrees(self) -> bool:
        return self.reasons != [SAMPLED]


SAMPLED = "agreeing (random sample)"


def review_queue(*, engine: Engine, actor: str | None = None, rules: ReviewRules = ReviewRules()) -> list[ReviewItem]:
    """Images to review (see the module docstring): disagreements first, then the sample, each in id order."""
    with Session(engine) as session:
        rights.check(session, actor, rights.REVIEW)
        normal = {c.name for c in session.exec(select(LabelClass)).all() if c.type_code == NORMAL_CODE}
        shapes = {i: (rows, cols) for i, rows, cols in session.exec(  # read by two or more, and complete
            select(Image.id, Image.rows, Image.cols).where(col(Image.readings) >= 2, ~col(Image.wants_reading)))}
    ids = sorted(shapes)
    by_image: dict[int, dict[str, SavedAnnotation]] = {}
    for start in range(0, len(ids), 500):
        for reading in list_annotations(engine=engine, image_ids=ids[start:start + 500]):
            by_image.setdefault(reading.image_id, {})[reading.annotator] = reading
    candidates = {i: found for i, found in by_image.items() if CONSENSUS not in found}
    items = []
    for image_id in sorted(candidates):
        readings = candidates[image_id]
        reasons = disagreements(readings, shapes[image_id], normal, rules)
        if reasons or _sampled(image_id, rules.sample_agreeing):
            items.append(ReviewItem(image_id, sorted(readings), reasons or [SAMPLED]))
    return sorted(items, key=lambda item: (not item.disagrees, item.image_id))


def review_item(image_id: int, *, engine: Engine, actor: str | None = None,
                rules: ReviewRules = ReviewRules()) -> ReviewItem:
    """Any image with a reading, opened by its id — in the queue or not (one with a consensus to revise, one read
    once): its readers and why it would be reviewed; :class:`ReviewError` when nobody has read it."""
    readings = readings_of(image_id, engine=engine, actor=actor)
    readers = {name: reading for name, reading in readings.items() if name != CONSENSUS}
    if not readers:
        raise ReviewError(f"Image {image_id} has no reading to review; pick an image that readers have read.")
    with Session(engine) as session:
        normal = {c.name for c in session.exec(select(LabelClass)).all() if c.type_code == NORMAL_CODE}
        image = session.get(Image, image_id)
    reasons = disagreements(readers, (image.rows, image.cols), normal, rules) if image else []
    if CONSENSUS in readings:
        reasons.insert(0, f"has a consensus (version {readings[CONSENSUS].version}): revise it")
    return ReviewItem(image_id, sorted(readers), reasons or ["the readings agree"])


def disagreements(readings: dict[str, SavedAnnotation], shape: tuple[int, int], normal: set[str],
                  rules: ReviewRules) -> list[str]:
    """Why these readings of one image disagree, one sentence per pair of readers and rule (none: they agree)."""
    reasons = []
    for first, second in itertools.combinations(sorted(readings), 2):
        a, b = readings[first], readings[second]
        if has_finding(a, normal) != has_finding(b, normal):  # first: what a reviewer must see at once
            reasons.append(f"a finding marked by {first if has_finding(a, normal) else second} only")
        if image_label(a) != image_label(b):
            reasons.append(f"image labels differ: {first} {image_label(a)}, {second} {image_label(b)}")
        for label, (pairs, only_first, only_second) in match_regions(a.regions, b.regions, shape).items():
            if low := [dice for dice, _ in pairs if dice < rules.dice_below]:
                reasons.append(f"{label} regions of {first} and {second} overlap with Dice {min(low):.2f}")
            for reader, count in ((first, only_first), (second, only_second)):
                if count:
                    reasons.append(f"{count} {label} region(s) of {reader} match none of "
                                   f"{second if reader == first else first}'s")
    return reasons


def _sampled(image_id: int, share: float) -> bool:
    return in_sample(f"review:{image_id}", share)  # not the QA sample's images: another key


def readings_of(image_id: int, *, engine: Engine, actor: str | None = None) -> dict[str, SavedAnnotation]:
    """Every reader's current reading of an image (the consensus too, when there is one), for a reviewer."""
    with Session(engine) as session:
        rights.check(session, actor, rights.REVIEW)
    return {a.annotator: a for a in list_annotations(engine=engine, image_id=image_id)}


READER_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4")  # told apart at a glance


def reader_colours(readers: list[str]) -> dict[str, str]:
    """A colour for each reader of an image (in name order; the consensus in white)."""
    ordered = sorted(name for name in readers if name != CONSENSUS)
    colours = {name: READER_COLOURS[n % len(READER_COLOURS)] for n, name in enumerate(ordered)}
    return colours | ({CONSENSUS: "#ffffff"} if CONSENSUS in readers else {})


def region_rows(readings: dict[str, SavedAnnotation]) -> list[dict[str, object]]:
    """A table of an image's readings for a reviewer: a row per region, numbered as ``merge_readings`` counts
    them and as ``readings_png`` labels them (the reader's initial and the number), one row for a reading
    without regions."""
    rows: list[dict[str, object]] = []
    for name in sorted(readings):
        label = readings[name].image_label or "none"
        rows += [{"reader": name, "region": f"{name[:1]}{n}", "class": region.label,
                  "box [x, y, w, h]": [round(v) for v in region.bbox], "image label": label}
                 for n, region in enumerate(readings[name].regions)] or [
            {"reader": name, "region": "—", "class": "—", "box [x, y, w, h]": None, "image label": label}]
    return rows


def readings_png(image_id: int, readers: list[str], *, project: Project, actor: str | None = None) -> bytes:
    """The image (its default rendering) with the regions of ``readers`` outlined in their colours
    (``reader_colours``) and numbered as ``merge_readings`` counts them, as a PNG."""
    readings = readings_of(image_id, engine=project.engine, actor=actor)
    picture = PILImage.fromarray(render_frame(get_image(image_id, engine=project.engine), project=project))
    picture = picture.convert("RGB")
    scale = max(1, round(768 / max(picture.size)))  # small pictures are enlarged so outlines stay visible
    picture = picture.resize((picture.width * scale, picture.height * scale), PILImage.NEAREST)
    draw, colours = ImageDraw.Draw(picture), reader_colours(list(readings))
    for reader in readers:
        for number, region in enumerate(readings[reader].regions if reader in readings else []):
            points = [(x * scale, y * scale) for x, y in region.points]
            draw.line([*points, points[0]], fill=colours[reader], width=max(2, scale + 1))
            draw.text((points[0][0] + 3, points[0][1] + 2), f"{reader[:1]}{number}", fill=colours[reader])
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def adjudicate(image_id: int, *, engine: Engine, regions: list[RegionInput], image_label: str | None,
               sources: list[int], reason: str, actor: str | None = None) -> SavedAnnotation:
    """Store the consensus reading of an image: ``regions`` and ``image_label``, made from the readings
    ``sources`` (annotation ids of this image), for ``reason``; a new version when there is one already."""
    reason = reason.strip()
    if not reason:
        raise ReviewError("Say why this is the consensus (e.g. 'ann's outline; bob missed the lesion').")
    with write_session(engine=engine) as session:
        reviewer = rights.check(session, actor, rights.REVIEW)
        image = session.get(Image, image_id, with_for_update=True)  # two reviewers at once: one after the other
        if image is None:
            raise ImageNotFound(f"There is no image {image_id} in this project.")
        readings = {a.id: a for a in list_annotations(engine=engine, image_id=image_id) if a.annotator != CONSENSUS}
        if unknown := [s for s in sources if s not in readings]:
            raise ReviewError(f"Reading {unknown[0]} is not a current reading of image {image_id}; choose from "
                              f"{', '.join(str(i) for i in sorted(readings)) or 'none'}.")
        classes = {c.name.lower(): c for c in session.exec(select(LabelClass)).all()}
        annotation = add_annotation(session, image, user_named(session, CONSENSUS), regions, image_label, classes,
                                    action="review.adjudicate")
        annotation.adjudicated_by = reviewer.id if reviewer else None
        annotation.sources, annotation.reason = sorted(sources), reason[:1000]
        session.add(annotation)
        session.commit()
        saved_id = annotation.id
    # With its history: another reviewer may already have saved a newer consensus over this one.
    return next(a for a in list_annotations(engine=engine, image_id=image_id, include_history=True)
                if a.id == saved_id)


@dataclass(frozen=True)
class ConsensusStart:
    """What a reviewer edits into the consensus: the regions and image label to start from, and the readings
    shown beside them (their annotation ids are the consensus's sources)."""

    regions: list[RegionInput]
    image_label: str | None
    sources: list[int]


def consensus_start(image_id: int, *, engine: Engine, take: dict[str, list[int] | None] | None = None,
                    label_from: str | None = None, actor: str | None = None) -> ConsensusStart:
    """Where editing the consensus of an image starts: the current consensus when there is one; else the regions
    ``take`` picks (as ``merge_readings`` counts them; None: every reader's regions) with the image label of
    ``label_from`` (else the label the readers share, else none). The sources are every current reading of the
    image. Only reviewers and admins (``readings_of``)."""
    readings = readings_of(image_id, engine=engine, actor=actor)
    readers = sorted(set(readings) - {CONSENSUS})
    if not readers:
        raise ReviewError(f"Image {image_id} has no reading to make a consensus from.")
    sources = sorted(readings[name].id for name in readers)
    if CONSENSUS in readings:
        return ConsensusStart(readings[CONSENSUS].region_inputs(), readings[CONSENSUS].image_label, sources)
    take = {name: None for name in readers} if take is None else take
    if missing := [name for name in [*take, *([label_from] if label_from else [])] if name not in readers]:
        raise ReviewError(f"{missing[0]!r} has no reading of image {image_id}; readers: {', '.join(readers)}.")
    regions = _picked(readings, take, image_id)
    labels = {readings[name].image_label for name in readers}
    label = readings[label_from].image_label if label_from else (labels.pop() if len(labels) == 1 else None)
    return ConsensusStart(regions, label, sources)


def _picked(readings: dict[str, SavedAnnotation], take: dict[str, list[int] | None],
            image_id: int) -> list[RegionInput]:
    """From each reader in ``take``, the regions at the given positions (None: all of them), in that order."""
    regions: list[RegionInput] = []
    for reader, positions in take.items():
        own = readings[reader].region_inputs()
        if bad := [p for p in (positions or []) if not 0 <= p < len(own)]:
            raise ReviewError(f"{reader} drew {len(own)} region(s) on image {image_id}; there is no region {bad[0]}.")
        regions += [own[p] for p in positions] if positions is not None else own
    return regions


def accept_reading(image_id: int, reader: str, *, engine: Engine, reason: str,
                   actor: str | None = None) -> SavedAnnotation:
    """The consensus is ``reader``'s reading as it is."""
    return merge_readings(image_id, {reader: None}, label_from=reader, engine=engine, reason=reason, actor=actor)


def merge_readings(image_id: int, take: dict[str, list[int] | None], *, label_from: str, engine: Engine,
                   reason: str, actor: str | None = None) -> SavedAnnotation:
    """The consensus takes, from each reader in ``take``, the regions at the given positions (None: all of
    them), and the image label of ``label_from``."""
    readings = readings_of(image_id, engine=engine, actor=actor)
    missing = [name for name in [*take, label_from] if name not in readings or name == CONSENSUS]
    if missing:
        raise ReviewError(f"{missing[0]!r} has no reading of image {image_id}; readers: "
                          f"{', '.join(sorted(set(readings) - {CONSENSUS})) or 'none'}.")
    regions = _picked(readings, take, image_id)
    sources = sorted({readings[name].id for name in [*take, label_from]})
    return adjudicate(image_id, engine=engine, regions=regions, image_label=readings[label_from].image_label,
                      sources=sources, reason=reason, actor=actor)
