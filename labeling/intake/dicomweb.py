"""Images from a PACS over DICOMweb (``medal import --dicomweb URL`` and the Import page): QIDO-RS finds the
studies, series and instances the filters name, WADO-RS retrieves the ones the project does not hold yet, and
each instance goes through the same import as a file (decode, size, header against codestream).

Retrieved instances are written once, as the PACS sent them in their own transfer syntax (``transfer-syntax=*``),
under ``<home>/dicomweb/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` (checked UIDs, never
names the server chose) through a temporary file and a rename, so a killed import leaves whole files or none.
A run skips every instance whose SOP Instance UID the project already holds and imports the files an earlier,
interrupted run wrote but did not import: a second run fetches only what is new, and a rerun after ``kill -9``
finishes without duplicates. Before retrieving, the series' metadata (no pixel data) says each instance's size:
one over ``MEDAL_MAX_FILE_MB`` or ``MEDAL_MAX_MEGAPIXELS`` is refused with a one-line reason and never fetched,
and instances are fetched one series at a time, each written before the next is read, so memory holds one
instance. Credentials (``MEDAL_DICOMWEB_*``) come from ``storage.config``; they are sent, never logged or shown.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import requests
from dicomweb_client import DICOMwebClient
from pydicom.dataset import Dataset
from sqlmodel import Session, col, func, select

from labeling.access import rights
from labeling.dicom import client_for, unavailable
from labeling.intake.ingest import ImportReport, import_paths
from labeling.labels import refresh_cold_start
from storage import Image, Project, Series, config

IMPORT_BATCH = 64  # retrieved instances imported together
QIDO_PAGE = 500  # studies or series asked for in one QIDO-RS request
ORIGINAL = (("application/dicom", "*"),)  # WADO-RS: each instance in the transfer syntax the PACS holds it in
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class DicomwebQuery:
    """What to import: every field given narrows the search (QIDO-RS matching; all empty: the whole PACS)."""

    study_uid: str = ""
    series_uid: str = ""
    modality: str = ""
    accession_number: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def study_filters(self) -> dict[str, str]:
        filters = {"StudyInstanceUID": self.study_uid, "AccessionNumber": self.accession_number,
                   "ModalitiesInStudy": self.modality.upper()}
        if self.date_from or self.date_to:
            filters["StudyDate"] = "-".join(day.strftime("%Y%m%d") if day else "" for day in (self.date_from,
                                                                                                self.date_to))
        return {key: value for key, value in filters.items() if value}

    def series_filters(self) -> dict[str, str]:
        filters = {"SeriesInstanceUID": self.series_uid, "Modality": self.modality.upper()}
        return {key: value for key, value in filters.items() if value}


@dataclass
class DicomwebReport:
    """What a DICOMweb import did: instances found, retrieved, already held, refused (with reasons), and the
    file import's own report of what it indexed."""

    found: int = 0
    retrieved: int = 0
    already_held: int = 0
    refused: list[dict[str, str]] | None = None
    imported: ImportReport | None = None

    def as_dict(self) -> dict[str, Any]:
        imported = self.imported.as_dict() if self.imported else {}
        return {"found": self.found, "retrieved": self.retrieved, "already_held": self.already_held,
                "refused": (self.refused or []) + imported.get("rejected", []),
                "images": imported.get("images", 0), "duplicates": imported.get("duplicates", 0)}


def import_dicomweb(url: str, query: DicomwebQuery = DicomwebQuery(), *, project: Project,
                    actor: str | None = None, progress: Progress | None = None) -> DicomwebReport:
    """Import what ``query`` finds at ``url`` into ``project`` (see the module docstring). ``actor``, the account
    asking, must be allowed to import. Raises :class:`DicomwebUnavailable` when the service fails; a refused
    instance is a line in the report, never an error."""
    with Session(project.engine) as session:
        rights.check(session, actor, rights.IMPORT)
    tell = progress or (lambda fraction, message: None)
    client, folder = client_for(url), project.folder("dicomweb")
    report, held, held_by_series = DicomwebReport(refused=[]), _held_instances(project), _held_by_series(project)
    written = _written_not_imported(folder, held)  # an interrupted run's files: imported, not fetched again
    tell(0.0, "searching the PACS")
    series = list(_series(client, query))
    batch: list[Path] = list(written)
    imports: list[ImportReport] = []
    for number, (study_uid, series_uid, count) in enumerate(series):
        tell(number / max(len(series), 1), f"series {number + 1} of {len(series)}")
        if count and held_by_series.get(series_uid, 0) >= count:  # all held: its metadata is not even read
            report.found, report.already_held = report.found + count, report.already_held + count
            continue
        wanted, refused, total = _wanted(client, study_uid, series_uid, held | {path.stem for path in written})
        report.found += total
        report.already_held += total - len(wanted) - len(refused)
        report.refused += refused
        for dataset in _retrieve(client, study_uid, series_uid, wanted, whole_series=len(wanted) == total):
            path = _write(folder, study_uid, series_uid, dataset)
            if path is None:
                report.refused.append({"path": f"{study_uid}/{series_uid}", "reason": "the PACS sent an instance "
                                       "without valid Study, Series and SOP Instance UIDs"})
                continue
            batch.append(path)
            report.retrieved += 1
            if len(batch) >= IMPORT_BATCH:
                imports.append(import_paths(batch, project=project, workers=1, actor=actor, rank=False))
                batch = []
    if batch:
        imports.append(import_paths(batch, project=project, workers=1, actor=actor, rank=False))
    report.imported = _merged(imports)
    if report.imported.images:
        refresh_cold_start(project=project)  # once, over everything this run brought (not after every batch)
    tell(1.0, f"{report.retrieved} instance(s) retrieved, {report.already_held} already held")
    return report


def _series(client: DICOMwebClient, query: DicomwebQuery) -> Iterator[tuple[str, str, int | None]]:
    """(study UID, series UID, its number of instances where the PACS says) of every series the query finds."""
    if query.study_uid and query.series_uid:
        yield query.study_uid, query.series_uid, None
        return
    for study_uid, _ in _every(client.search_for_studies, "0020000D", search_filters=query.study_filters()):
        for series_uid, item in _every(client.search_for_series, "0020000E", study_uid,
                                       search_filters=query.series_filters()):
            count = _first(item, "00201209")  # NumberOfSeriesRelatedInstances
            yield study_uid, series_uid, int(count) if count.isdigit() else None


def _every(search: Callable[..., list[dict[str, Any]]], uid_tag: str, *args: Any,
           **kwargs: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """The UID and attributes of every match, page by page (``QIDO_PAGE`` at a time). It stops at a short page
    or at a page that brings no new UID: a server that ignores ``offset`` would otherwise be asked forever
    (Orthanc 1.10 ignores ``offset`` without ``limit`` on a filtered search, and dicomweb-client's own
    ``get_remaining``, which sends no limit, asks it forever)."""
    seen: set[str] = set()
    offset = 0
    while True:
        items = _qido(search, *args, limit=QIDO_PAGE, offset=offset, **kwargs)
        page = {uid: item for item in items if (uid := _first(item, uid_tag))}
        fresh = [(uid, item) for uid, item in page.items() if uid not in seen]
        seen.update(uid for uid, _ in fresh)
        yield from fresh
        if len(items) < QIDO_PAGE or not fresh:
            return
        offset += len(items)


def _wanted(client: DICOMwebClient, study_uid: str, series_uid: str,
            held: set[str]) -> tuple[list[str], list[dict[str, str]], int]:
    """The SOP Instance UIDs of the series still to fetch, those refused for their size, and how many it has."""
    settings = config()
    wanted, refused, total = [], [], 0
    for instance in _qido(client.retrieve_series_metadata, study_uid, series_uid):
        sop = _first(instance, "00080018")
        if not sop:
            continue
        total += 1
        if sop in held:
            continue
        rows, columns = int(_first(instance, "00280010") or 0), int(_first(instance, "00280011") or 0)
        frames = int(_first(instance, "00280008") or 1)
        samples, bits = int(_first(instance, "00280002") or 1), int(_first(instance, "00280100") or 8)
        megabytes = rows * columns * frames * samples * bits / 8 / 1024**2
        where = f"{study_uid}/{series_uid}/{sop}"
        if rows * columns / 1e6 > settings.max_megapixels:
            refused.append({"path": where, "reason": f"a {columns}×{rows} frame is larger than MEDAL_MAX_MEGAPIXELS "
                            f"({settings.max_megapixels:g}); not retrieved"})
        elif megabytes > settings.max_file_mb:
            refused.append({"path": where, "reason": f"its pixel data ({megabytes:.0f} MB) is larger than "
                            f"MEDAL_MAX_FILE_MB ({settings.max_file_mb:g}); not retrieved"})
        else:
            wanted.append(sop)
    return wanted, refused, total


def _retrieve(client: DICOMwebClient, study_uid: str, series_uid: str, wanted: list[str], *,
              whole_series: bool) -> Iterator[Dataset]:
    """The wanted instances, one at a time: the whole series in one streamed request when every instance is
    wanted, else one request per instance."""
    if not wanted:
        return
    try:
        if whole_series:
            yield from client.iter_series(study_uid, series_uid, media_types=ORIGINAL)
        else:
            for sop in wanted:
                yield client.retrieve_instance(study_uid, series_uid, sop, media_types=ORIGINAL)
    except requests.RequestException as error:
        raise unavailable(error) from error


def _write(folder: Path, study_uid: str, series_uid: str, dataset: Dataset) -> Path | None:
    """Write one retrieved instance, whole or not at all; None when its UIDs are not UIDs."""
    sop = str(dataset.get("SOPInstanceUID", ""))
    study, series = str(dataset.get("StudyInstanceUID", study_uid)), str(dataset.get("SeriesInstanceUID", series_uid))
    if not all(_UID.match(uid) for uid in (study, series, sop)):
        return None
    path = folder / study / series / f"{sop}.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            dataset.save_as(out, enforce_file_format=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _held_instances(project: Project) -> set[str]:
    with Session(project.engine) as session:
        return set(session.exec(select(Image.sop_instance_uid).where(col(Image.sop_instance_uid).is_not(None))
                                .distinct()).all())


def _held_by_series(project: Project) -> dict[str, int]:
    """How many distinct instances the project holds of each series (by Series Instance UID)."""
    with Session(project.engine) as session:
        rows = session.exec(select(Series.series_instance_uid, func.count(func.distinct(Image.sop_instance_uid)))
                            .join(Image, col(Image.series_id) == Series.id).group_by(Series.series_instance_uid)).all()
    return {uid: int(count) for uid, count in rows}


def _written_not_imported(folder: Path, held: set[str]) -> list[Path]:
    """Whole files an earlier run wrote and did not import (its ``.part`` leftovers are removed)."""
    for leftover in folder.glob("*/*/*.part"):
        leftover.unlink(missing_ok=True)
    return sorted(path for path in folder.glob("*/*/*.dcm") if path.stem not in held)


def _merged(reports: list[ImportReport]) -> ImportReport:
    merged = ImportReport()
    for report in reports:
        for name, value in vars(report).items():
            current = getattr(merged, name)
            setattr(merged, name, current + value if isinstance(value, (int, list)) else value)
    return merged


def _qido(search: Callable[..., list[dict[str, Any]]], *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    try:
        return search(*args, **kwargs)
    except requests.RequestException as error:
        raise unavailable(error) from error


def _first(item: dict[str, Any], tag: str) -> str:
    values = item.get(tag, {}).get("Value") or [""]
    return str(values[0])
