"""One export: select the labeled images, write the asked formats and the dataset card.

``export_dataset`` is what ``medal export`` and the Export page call. The folder it writes holds::

    dataset_card.json   counts, annotators, model version, taxonomy, mask values, what was left out
    images/<key>_<id>.png        8-bit, as shown by default        (coco, masks, csv)
    coco.json                                                         (coco)
    masks/<key>_<id>.<annotator>.png + manifest.csv                   (masks)
    labels.csv                                                        (csv)
    dicom/<key>_<id>.dcm + seg/<key>_<id>.<annotator>.dcm             (seg)

``<key>`` is the patient's pseudonymous key and ``<id>`` the Medal image id: no file name carries
an identifying value.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from sqlalchemy.engine import Engine
from sqlmodel import Session

from labeling.access import rights
from labeling.export.card import agreement_summary, dataset_card
from labeling.export.coco import write_coco
from labeling.export.context import ExportContext, annotator_tags
from labeling.export.deid import Deidentifier
from labeling.export.masks import write_masks
from labeling.export.seg import write_seg
from labeling.export.selection import READINGS, ExportError, parse_split, select_labeled
from labeling.export.tables import write_labels_csv
from labeling.labels import agreement_report, list_classes, render_frame
from storage import AuditEvent, Project, make_private, patient_key_secret, private_folder, write_session

FORMATS = ("coco", "masks", "seg", "csv")
Progress = Callable[[int, int], None]


@dataclass
class ExportOptions:
    formats: list[str] = field(default_factory=lambda: list(FORMATS))
    deidentify: bool = False
    split: str | None = None  # "70,15,15"
    annotator: str | None = None
    since: date | None = None
    include_burned_in: bool = False
    pseudonymise_annotators: bool = False  # annotator names become stable pseudonyms everywhere in the export
    # Which readings: "each" (an image's consensus where a reviewer made one, else every reader's reading),
    # "consensus" (adjudicated images only, their consensus), "all" (every reading, the consensus as its own).
    readings: str = "each"

    def __post_init__(self) -> None:
        if "all" in self.formats:
            self.formats = list(FORMATS)
        unknown = sorted(set(self.formats) - set(FORMATS))
        if unknown or not self.formats:
            raise ExportError(f"Unknown export format(s) {', '.join(unknown) or '(none)'}; "
                              f"choose from {', '.join(FORMATS)} or all.")
        self.formats = [f for f in FORMATS if f in self.formats]
        if self.readings not in READINGS:
            raise ExportError(f"Unknown readings {self.readings!r}; choose from {', '.join(READINGS)}.")


@dataclass
class ExportReport:
    out: Path
    card: dict[str, Any]

    @property
    def images(self) -> int:
        return sum(self.card["counts"]["images"].values())


def _deidentifier(engine: Engine) -> Deidentifier:
    """Keyed by the project's secret: re-exports of one project agree on UIDs and date shifts."""
    with write_session(engine=engine) as session:
        secret = patient_key_secret(session)
        session.commit()
    return Deidentifier(hashlib.sha256(b"medal-deidentify/" + secret).digest())


def _prepare_folder(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} is not an empty folder; export into a new one so datasets never mix.")
    private_folder(out)


def export_dataset(out: Path | str, options: ExportOptions, *, project: Project, progress: Progress | None = None,
                   model: dict[str, Any] | None = None, actor: str | None = None) -> ExportReport:
    """Write the export to the new or empty folder ``out``; the dataset card is written last.

    ``actor``, the account asking, must still be allowed to export (and, for an export that keeps
    identity, to keep it) when the export starts.

    The labels come from ``project``'s database and its cached pictures. ``model`` is what the card records as the model version
    active at export time (``{"id", "created_at", "label_count", "metrics"}``; None: no model yet):
    the caller asks the learner, which an export never imports.
    """
    engine = project.engine
    with Session(engine) as session:
        user = rights.check(session, actor, rights.EXPORT if options.deidentify else rights.EXPORT_IDENTITY)
        user_id = user.id if user else None
    out = Path(out)
    shares = parse_split(options.split)
    selection = select_labeled(annotator=options.annotator, since=options.since, split=shares,
                               readings=options.readings,
                               exclude_burned_in=options.deidentify and not options.include_burned_in, engine=engine)
    if not selection.items:
        raise ExportError("No labeled image matches this export's filters; label some images or widen the filters.")
    _prepare_folder(out)
    if options.pseudonymise_annotators:
        pseudonym = _deidentifier(engine).annotator
        for item in selection.items:
            item.annotations = [replace(a, annotator=pseudonym(a.annotator)) for a in item.annotations]
    context = ExportContext(out, list_classes(engine=engine, include_inactive=True),
                            _deidentifier(engine) if options.deidentify else None,
                            annotator_tags({a.annotator for item in selection.items for a in item.annotations}))
    items = selection.items
    with_pictures = bool({"coco", "masks", "csv"} & set(options.formats))
    total = len(items) * (int(with_pictures) + int("seg" in options.formats)) + 1
    done = 0

    def tick(count: int = 1) -> None:
        nonlocal done
        done += count
        if progress:
            progress(min(done, total - 1), total)

    files: dict[str, Any] = {}
    if with_pictures:
        (out / "images").mkdir()
        for item in items:
            PILImage.fromarray(render_frame(item.image, project=project)).save(out / context.image_file(item))
            tick()
    info = {"description": "Medal labeled dataset", "deidentified": context.deidentifier is not None}
    if "coco" in options.formats:
        files["coco"] = write_coco(context, items, info)
    if "masks" in options.formats:
        files["masks_manifest"] = write_masks(context, items)
    if "csv" in options.formats:
        files["labels_csv"] = write_labels_csv(context, items)
    if "seg" in options.formats:
        result = write_seg(context, items, tick)
        files["seg"] = {"written": len(result.written), "sources": len(result.sources), "skipped": result.skipped}
    named = options.annotator and options.pseudonymise_annotators
    filters = {"annotator": _deidentifier(engine).annotator(options.annotator) if named else options.annotator,
               "since": options.since.isoformat() if options.since else None,
               "include_burned_in": options.include_burned_in,
               "pseudonymise_annotators": options.pseudonymise_annotators, "readings": options.readings}
    card = dataset_card(context, selection, formats=options.formats, files=files, filters=filters,
                        shares=shares, model=model)
    card["agreement"] = agreement_summary(agreement_report(engine=engine),
                                          _deidentifier(engine).annotator if options.pseudonymise_annotators else str)
    (out / "dataset_card.json").write_text(json.dumps(card, indent=2))
    with write_session(engine=engine) as session:
        session.add(AuditEvent(user_id=user_id, username=actor, action="export.create",
                               entity="export", detail={"folder": out.name, "images": len(items),
                                                        "formats": options.formats, "deidentified": options.deidentify,
                                                        "readings": options.readings}))
        session.commit()
    if progress:
        progress(total, total)
    return ExportReport(out, card)


def new_export_folder(*, project: Project) -> Path:
    """A fresh folder under the project's ``exports`` named by the UTC time (what the Export page uses)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    return project.home / "exports" / f"medal-export-{stamp}"


def zip_folder(folder: Path, target: Path) -> Path:
    """The export as one zip (what the Export page offers for download)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return make_private(target)
