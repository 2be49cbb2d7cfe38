"""What every writer of one export shares: the folder, the classes and their indices, and the
de-identifier (None when the export keeps identities)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from labeling.export.deid import Deidentifier
from labeling.export.selection import ExportImage
from storage import LabelClass


@dataclass
class ExportContext:
    out: Path
    classes: list[LabelClass]  # the taxonomy in its order; a class's index is its place, from 1
    deidentifier: Deidentifier | None = None
    annotator_tags: dict[str, str] = field(default_factory=dict)  # annotator → file-name part, unique

    def class_index(self, name: str) -> int:
        for number, label_class in enumerate(self.classes, 1):
            if label_class.name.lower() == name.lower():
                return number
        raise KeyError(name)

    def sop_instance_uid(self, item: ExportImage) -> str | None:
        uid = item.image.sop_instance_uid
        return self.deidentifier.uid(uid) if uid and self.deidentifier else uid

    def study_date(self, item: ExportImage) -> date | None:
        if self.deidentifier:
            return self.deidentifier.shift_date(item.study_date, item.patient_key)
        return item.study_date

    @staticmethod
    def image_file(item: ExportImage) -> str:
        return f"images/{item.stem}.png"

    def mask_file(self, item: ExportImage, annotator: str) -> str:
        return f"masks/{item.stem}.{self.annotator_tag(annotator)}.png"

    def annotator_tag(self, annotator: str) -> str:
        """The annotator's part of file names: unique within the export (see ``annotator_tags``)."""
        return self.annotator_tags.get(annotator) or slug(annotator)


def annotator_tags(names: set[str]) -> dict[str, str]:
    """File-name parts for annotators: the slug of the name, and where two names slug alike ("Jo Smith",
    "Jo-Smith") the slug and a short hash of the exact name, so no annotator's file overwrites another's."""
    by_slug: dict[str, list[str]] = {}
    for name in sorted(names):
        by_slug.setdefault(slug(name), []).append(name)
    return {name: tag if len(alike) == 1 else f"{tag}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
            for tag, alike in by_slug.items() for name in alike}


def slug(name: str) -> str:
    """A user name as a file-name part (letters, digits, dot, dash, underscore)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "user"
