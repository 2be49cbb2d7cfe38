"""What every writer of one export shares: the folder, the classes and their indices, and the
de-identifier (None when the export keeps identities)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from labeling.export.deid import Deidentifier
from labeling.export.selection import ExportImage
from storage.models import LabelClass


@dataclass
class ExportContext:
    out: Path
    classes: list[LabelClass]  # the taxonomy in its order; a class's index is its place, from 1
    deidentifier: Deidentifier | None = None

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

    @staticmethod
    def mask_file(item: ExportImage, annotator: str) -> str:
        return f"masks/{item.stem}.{slug(annotator)}.png"


def slug(name: str) -> str:
    """A user name as a file-name part (letters, digits, dot, dash, underscore)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "user"
