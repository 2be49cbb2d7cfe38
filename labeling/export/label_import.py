"""Bringing existing labels in: COCO JSON (regions and image labels) and CSV (image labels).

Images are matched by a ``sop_instance_uid`` field (with ``frame``, default 0), else by the file
name's stem as a SOPInstanceUID, else by the stem of a Medal export's file (``<patient key>_<id>``,
whose key must match). Classes are matched by name, else by SNOMED type code. Anything unknown is
reported; by default nothing is imported then (``skip_unknown`` imports the rest). Everything is
written in one transaction: an import never stops halfway.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from labeling.export.selection import export_key
from labeling.labels import IMAGE_LABELS, SHAPES, RegionInput, add_annotation, list_annotations, user_named
from storage import Image, LabelClass, MedalError, Patient, up_to_patient, write_session

DEFAULT_ANNOTATOR = "imported"
MEDAL_STEM = re.compile(r"^(?P<key>P[0-9A-F]{12}|I\d+)_(?P<id>\d+)$")


class LabelImportError(MedalError):
    """A label file that cannot be imported as it is (unreadable, or with unknown images or classes)."""


@dataclass
class Reading:
    """One (image, annotator) reading from the file: regions (None: keep the current ones) and label."""

    image_id: int
    annotator: str
    regions: list[RegionInput] | None = None
    image_label: str | None = None


@dataclass
class LabelImportReport:
    annotations: int = 0
    regions: int = 0
    images: int = 0
    unknown_images: list[str] = field(default_factory=list)
    unknown_classes: list[str] = field(default_factory=list)
    unknown_labels: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def has_unknowns(self) -> bool:
        return bool(self.unknown_images or self.unknown_classes or self.unknown_labels)


class _Matcher:
    """Finds project images for the file's references."""

    def __init__(self, session: Session) -> None:
        rows = session.exec(up_to_patient(select(Image.id, Image.sop_instance_uid, Image.frame, Patient.key))).all()
        self.by_uid = {(uid, frame): image_id for image_id, uid, frame, _ in rows if uid}
        self.keys = {image_id: export_key(key, image_id) for image_id, _, _, key in rows}

    def find(self, uid: str | None, frame: int, file_name: str | None) -> int | None:
        if uid and (uid, frame) in self.by_uid:
            return self.by_uid[(uid, frame)]
        stem = PurePosixPath(file_name or "").stem
        if stem and (stem, frame) in self.by_uid:
            return self.by_uid[(stem, frame)]
        medal = MEDAL_STEM.match(stem.split(".")[0]) if stem else None
        if medal and self.keys.get(int(medal["id"])) == medal["key"]:
            return int(medal["id"])
        return None


def _class_finder(classes: list[LabelClass]) -> dict[str, LabelClass]:
    found = {c.name.lower(): c for c in classes}
    found.update({f"code:{c.type_code}": c for c in classes if c.type_code})
    return found


def _image_label(value: str | None, report: LabelImportReport) -> str | None:
    label = (value or "").strip().lower()
    if not label or label == "none":
        return None
    if label not in IMAGE_LABELS:
        report.unknown_labels.append(value)
        return None
    return label


def _coco_points(annotation: dict[str, Any]) -> list[list[list[float]]]:
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, list) and segmentation and isinstance(segmentation[0], list):
        return [[[float(p[i]), float(p[i + 1])] for i in range(0, len(p) - 1, 2)] for p in segmentation if len(p) >= 4]
    x, y, w, h = (float(v) for v in annotation["bbox"])
    return [[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]]


def read_coco(document: dict[str, Any], matcher: _Matcher, classes: dict[str, LabelClass], annotator: str | None,
              report: LabelImportReport) -> list[Reading]:
    categories: dict[Any, LabelClass | None] = {}
    for category in document.get("categories", []):
        code = (category.get("snomed") or {}).get("type_code")
        categories[category["id"]] = classes.get(str(category.get("name", "")).lower()) or classes.get(f"code:{code}")
        if categories[category["id"]] is None:
            report.unknown_classes.append(str(category.get("name", category["id"])))
    images: dict[Any, int | None] = {}
    readings: dict[tuple[int, str], Reading] = {}
    for entry in document.get("images", []):
        image_id = matcher.find(entry.get("sop_instance_uid"), int(entry.get("frame") or 0), entry.get("file_name"))
        images[entry["id"]] = image_id
        if image_id is None:
            report.unknown_images.append(str(entry.get("sop_instance_uid") or entry.get("file_name") or entry["id"]))
            continue
        for item in entry.get("image_labels", []):
            who = annotator or item.get("annotator") or DEFAULT_ANNOTATOR
            reading = readings.setdefault((image_id, who), Reading(image_id, who, []))
            reading.image_label = _image_label(item.get("label"), report)
    for annotation in document.get("annotations", []):
        image_id, label_class = images.get(annotation["image_id"]), categories.get(annotation["category_id"])
        if image_id is None or label_class is None:
            continue
        attributes = annotation.get("attributes") or {}
        who = annotator or attributes.get("annotator") or DEFAULT_ANNOTATOR
        shape = attributes.get("shape") if attributes.get("shape") in SHAPES else "polygon"
        reading = readings.setdefault((image_id, who), Reading(image_id, who, []))
        for points in _coco_points(annotation):
            reading.regions.append(RegionInput(label_class.name, shape if len(points) > 2 else "rect", points))
    return list(readings.values())


def read_csv(path: Path, matcher: _Matcher, annotator: str | None, report: LabelImportReport) -> list[Reading]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"sop_instance_uid", "label"} <= set(rows[0]):
        raise LabelImportError(f"{path.name} needs the columns sop_instance_uid and label (it has {', '.join(rows[0])}).")
    readings = []
    for row in rows:
        image_id = matcher.find(row["sop_instance_uid"].strip(), int(row.get("frame") or 0), None)
        if image_id is None:
            report.unknown_images.append(row["sop_instance_uid"])
            continue
        label = _image_label(row["label"], report)
        if label:
            readings.append(Reading(image_id, annotator or row.get("annotator") or DEFAULT_ANNOTATOR, None, label))
    return readings


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LabelImportError(f"Cannot read {path.name} as COCO JSON: {error}.") from error


def import_labels(path: Path | str, *, engine: Engine, annotator: str | None = None,
                  skip_unknown: bool = False) -> LabelImportReport:
    """Import a COCO ``.json`` or a CSV of image labels; all of it or (with unknowns) none of it."""
    path = Path(path)
    if path.suffix.lower() not in (".json", ".csv"):
        raise LabelImportError(f"{path.name}: give a COCO .json or a .csv with sop_instance_uid,label.")
    report = LabelImportReport()
    with write_session(engine=engine) as session:
        matcher = _Matcher(session)
        classes = list(session.exec(select(LabelClass)).all())
        if path.suffix.lower() == ".json":
            readings = read_coco(_load(path), matcher, _class_finder(classes), annotator, report)
        else:
            readings = read_csv(path, matcher, annotator, report)
        if report.has_unknowns and not skip_unknown:
            raise LabelImportError(_unknowns_message(report))
        by_name = {c.name.lower(): c for c in classes}
        current = {(a.image_id, a.annotator): a for a in list_annotations(engine=engine)}
        for reading in _merged(readings):
            before = current.get((reading.image_id, reading.annotator))
            regions = reading.regions if reading.regions is not None else (before.region_inputs() if before else [])
            label = reading.image_label or (before.image_label if before else None)
            add_annotation(session, session.get(Image, reading.image_id), user_named(session, reading.annotator),
                           regions, label, by_name, action="annotation.import")
            report.annotations += 1
            report.regions += len(regions)
        report.images = len({r.image_id for r in readings})
        session.commit()
    return report


def _merged(readings: list[Reading]) -> list[Reading]:
    """One reading per (image, annotator): CSV rows for the same pair keep the last label."""
    merged: dict[tuple[int, str], Reading] = {}
    for reading in readings:
        merged[(reading.image_id, reading.annotator)] = reading
    return list(merged.values())


def _unknowns_message(report: LabelImportReport) -> str:
    parts = []
    for what, items in (("image(s) not in this project", report.unknown_images),
                        ("class(es) not in the taxonomy", report.unknown_classes),
                        ("image label(s) other than " + ", ".join(IMAGE_LABELS), report.unknown_labels)):
        if items:
            shown = ", ".join(sorted(set(items))[:5]) + (" …" if len(set(items)) > 5 else "")
            parts.append(f"{len(items)} {what} ({shown})")
    return ("Nothing imported: " + "; ".join(parts) + ". Import those images or add those classes first, "
            "or pass --skip-unknown to import the rest.")
