"""Import: walk files, folders and zip archives, index every image, cache its previews.

Each file is prepared on its own (header parsed and validated, frames decoded into the cache)
in worker processes; the main process writes the index in batches, one transaction each. A file
that cannot be used is refused with a one-line reason stored in ``import_problem``; the import
always goes on. Re-importing creates nothing new (SOPInstanceUID, or content hash for rasters).
A full disk is no fault of a file: it stops the import with ``StorageFull``, keeping the batches
written before and nothing of the current one.
"""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from labeling.access import rights
from labeling.dicom import (
    Content,
    FrameCache,
    InstanceFacts,
    Source,
    cache_key,
    describe,
    dicom_stored_frame,
    frame_view,
    open_raster,
    raster_frame,
    raster_pages,
    raster_view,
    read_header,
    sniff,
    to_display,
    to_modality,
    walk,
    window_presets,
)
from labeling.labels import refresh_cold_start
from storage import (
    Image,
    ImportProblem,
    MedalError,
    Patient,
    Project,
    Series,
    SourceKind,
    StorageFull,
    Study,
    config,
    disk_full_as,
    patient_key_secret,
    storage_full_on_refused_writes,
)

BATCH_SIZE = 200


@dataclass
class PreparedFrame:
    frame: int
    cache_key: str
    windows: list[dict[str, Any]]
    spacing: list[float] | None
    position: float | None = None  # mm along the plane's normal (anatomical order within a series)


@dataclass
class Prepared:
    """A file ready to be indexed."""

    name: str
    kind: SourceKind
    file_size: int
    frames: list[PreparedFrame]
    facts: InstanceFacts | None = None  # DICOM
    raster: dict[str, Any] | None = None  # rows, cols, samples, photometric, content_hash


@dataclass
class Refused:
    name: str
    reason: str


@dataclass
class ImportReport:
    """What ``medal import --json`` prints."""

    imported: int = 0  # files that added images
    images: int = 0  # images created
    duplicates: int = 0  # files whose images were all indexed already
    rejected: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "images": self.images,
                "duplicates": self.duplicates, "rejected": self.rejected}

    @property
    def files(self) -> int:
        """Files whose outcome is written (imported, already indexed or refused)."""
        return self.imported + self.duplicates + len(self.rejected)


# --- preparing one file (runs in worker processes) ------------------------------------------


def prepare(name: str, cache_root: str | None) -> Prepared | Refused:
    """Parse, validate and (when ``cache_root`` is given) decode and cache one source."""
    source = Source.parse(name)
    cache = FrameCache(Path(cache_root)) if cache_root else None
    try:
        content = sniff(source.head())
        if content in (Content.DICOM, Content.DICOM_NO_PREAMBLE):
            return _prepare_dicom(source, content, cache)
        if content is Content.RASTER:
            return _prepare_raster(source, cache)
        return Refused(name, _reason_for_content(content))
    except StorageFull:
        raise  # no fault of this file: the import stops (a worker's error reaches import_paths)
    except MedalError as error:
        return Refused(name, str(error))
    except MemoryError:
        return Refused(name, "Not enough memory to decode this file.")


def _reason_for_content(content: Content) -> str:
    if content is Content.GZIP:
        return "A gzip-compressed file; unpack it first (zip archives are read directly)."
    if content is Content.ZIP:
        return "A zip archive inside an archive; unpack the inner archive first."
    return "Not a DICOM, PNG, JPEG or TIFF file."


def _prepare_dicom(source: Source, content: Content, cache: FrameCache | None) -> Prepared:
    header = read_header(source, content)
    facts = describe(header, source)
    frames = []
    for index in range(facts.number_of_frames):
        key = cache_key(facts.sop_instance_uid, index)
        if cache is not None and not cache.has(key):
            view = frame_view(header.dataset, index)
            stored = dicom_stored_frame(source, header.dataset, header.complete_read, index)
            modality = to_modality(stored, view)
            cache.store(key, modality, to_display(modality, view))
        details = facts.frames[index]
        frames.append(PreparedFrame(index, key, details["windows"], details["spacing"], details["position"]))
    return Prepared(source.name, SourceKind.DICOM, header.file_size, frames, facts=facts)


def _prepare_raster(source: Source, cache: FrameCache | None) -> Prepared:
    with source.open() as handle:
        content_hash = hashlib.file_digest(handle, "sha256").hexdigest()
    image = open_raster(source)
    pages = raster_pages(image)
    width, height = image.size
    frames, samples, photometric = [], 1, "MONOCHROME2"
    for index in range(pages):
        key = cache_key(content_hash, index)
        values = raster_frame(image, index)
        view = raster_view(values)
        if index == 0:
            samples, photometric = int(view.SamplesPerPixel), str(view.PhotometricInterpretation)
        if cache is not None and not cache.has(key):
            cache.store(key, values, to_display(values, view))
        frames.append(PreparedFrame(index, key, window_presets(view), None))
    raster = {"rows": height, "cols": width, "samples": samples,
              "photometric": photometric, "content_hash": content_hash}
    return Prepared(source.name, SourceKind.RASTER, source.size(), frames, raster=raster)


# --- writing the index (main process) ---------------------------------------------------------


class _Indexer:
    """Writes prepared files into the database, reusing patients, studies and series."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.secret = patient_key_secret(session)
        self.patients: dict[str, int] = {}
        self.studies: dict[str, int] = {}
        self.series: dict[str, int] = {}

    def existing_identities(self, batch: list[Prepared]) -> set[tuple[str, int]]:
        """(SOPInstanceUID or content hash, frame) pairs of ``batch`` already in the index."""
        sops = [(p.facts.sop_instance_uid, 0) for p in batch if p.facts]
        hashes = [(p.raster["content_hash"], 0) for p in batch if p.raster]
        found: set[tuple[str, int]] = set()
        if sops:
            rows = self.session.exec(select(Image.sop_instance_uid, Image.frame).where(
                Image.sop_instance_uid.in_([s for s, _ in sops]))).all()
            found.update((sop, frame) for sop, frame in rows)
        if hashes:
            rows = self.session.exec(select(Image.content_hash, Image.frame).where(
                Image.content_hash.in_([h for h, _ in hashes]))).all()
            found.update((digest, frame) for digest, frame in rows)
        return found

    def add(self, prepared: Prepared, existing: set[tuple[str, int]]) -> int:
        """Index one file; returns the number of images created."""
        identity = prepared.facts.sop_instance_uid if prepared.facts else prepared.raster["content_hash"]
        todo = [frame for frame in prepared.frames if (identity, frame.frame) not in existing]
        if not todo:
            return 0
        series_id = self.series[prepared.facts.series_uid] if prepared.facts else None
        for frame in todo:
            self.session.add(self._image(prepared, frame, series_id))
            existing.add((identity, frame.frame))
        return len(todo)

    def _image(self, prepared: Prepared, frame: PreparedFrame, series_id: int | None) -> Image:
        common = dict(kind=prepared.kind, path=prepared.name, frame=frame.frame,
                      number_of_frames=len(prepared.frames), cache_key=frame.cache_key,
                      windows=frame.windows, pixel_spacing=frame.spacing, slice_position=frame.position,
                      file_size=prepared.file_size)
        if prepared.facts is None:
            raster = prepared.raster
            return Image(**common, content_hash=raster["content_hash"], rows=raster["rows"],
                         cols=raster["cols"], samples_per_pixel=raster["samples"],
                         photometric=raster["photometric"], bits_stored=8)
        facts = prepared.facts
        return Image(**common, series_id=series_id, sop_instance_uid=facts.sop_instance_uid,
                     sop_class_uid=facts.sop_class_uid, transfer_syntax_uid=facts.transfer_syntax_uid,
                     modality=facts.modality, rows=facts.rows, cols=facts.cols,
                     samples_per_pixel=facts.samples_per_pixel, photometric=facts.photometric,
                     bits_stored=facts.bits_stored, instance_number=facts.instance_number,
                     burned_in_annotation=facts.burned_in_annotation)

    def load_parents(self, batch: list[Prepared]) -> None:
        """Find or create the patients, studies and series of ``batch``: a few queries per batch."""
        facts = [p.facts for p in batch if p.facts is not None]
        if not facts:
            return
        keys = {self.patient_key(f): f for f in facts}
        found = self.session.exec(select(Patient.key, Patient.id).where(Patient.key.in_(list(keys)))).all()
        self.patients.update(dict(found))
        new = [Patient(key=key, patient_id=f.patient_id, issuer=f.issuer, name=f.patient_name,
                       birth_date=f.birth_date, sex=f.sex) for key, f in keys.items() if key not in self.patients]
        self._add_all(new, self.patients, "key")
        studies = {f.study_uid: f for f in facts}
        found = self.session.exec(select(Study.study_instance_uid, Study.id).where(
            Study.study_instance_uid.in_(list(studies)))).all()
        self.studies.update(dict(found))
        new = [Study(patient_id=self.patients[self.patient_key(f)], study_instance_uid=uid,
                     study_date=f.study_date, study_time=f.study_time, accession_number=f.accession_number,
                     description=f.study_description) for uid, f in studies.items() if uid not in self.studies]
        self._add_all(new, self.studies, "study_instance_uid")
        series = {f.series_uid: f for f in facts}
        found = self.session.exec(select(Series.series_instance_uid, Series.id).where(
            Series.series_instance_uid.in_(list(series)))).all()
        self.series.update(dict(found))
        new = [Series(study_id=self.studies[f.study_uid], series_instance_uid=uid, modality=f.modality,
                      series_number=f.series_number, description=f.series_description, body_part=f.body_part,
                      frame_of_reference_uid=f.frame_of_reference_uid)
               for uid, f in series.items() if uid not in self.series]
        self._add_all(new, self.series, "series_instance_uid")

    def _add_all(self, rows: list[Any], ids: dict[str, int], key_field: str) -> None:
        if rows:
            self.session.add_all(rows)
            self.session.flush()
            ids.update({getattr(row, key_field): row.id for row in rows})

    def patient_key(self, facts: InstanceFacts) -> str:
        """A stable pseudonymous key: keyed hash of issuer + PatientID (per study when absent)."""
        identity = f"{facts.issuer or ''}|{facts.patient_id}" if facts.patient_id else f"study|{facts.study_uid}"
        return "P" + hmac.new(self.secret, identity.encode(), hashlib.sha256).hexdigest()[:12].upper()


def _record_problems(session: Session, refused: list[Refused], batch_id: str) -> None:
    names = [item.name for item in refused]
    session.execute(delete(ImportProblem).where(ImportProblem.path.in_(names)))
    session.add_all(ImportProblem(path=item.name, reason=item.reason, batch=batch_id) for item in refused)


def _write_batch(engine: Engine, results: list[Prepared | Refused], batch_id: str, report: ImportReport) -> None:
    """One transaction for a batch: every file's rows appear together, or none do."""
    prepared = [item for item in results if isinstance(item, Prepared)]
    refused = [item for item in results if isinstance(item, Refused)]
    with Session(engine) as session:
        indexer = _Indexer(session)
        existing = indexer.existing_identities(prepared)
        indexer.load_parents([p for p in prepared if p.facts and any(
            (p.facts.sop_instance_uid, f.frame) not in existing for f in p.frames)])
        created = {item.name: indexer.add(item, existing) for item in prepared}
        if prepared:  # a file that imports now is no longer a problem
            session.execute(delete(ImportProblem).where(ImportProblem.path.in_([p.name for p in prepared])))
        if refused:
            _record_problems(session, refused, batch_id)
        session.commit()
    for name, count in created.items():
        if count:
            report.imported += 1
            report.images += count
        else:
            report.duplicates += 1
    report.rejected.extend({"path": item.name, "reason": item.reason} for item in refused)


def _prepared_stream(names: list[str], cache_root: str | None, workers: int) -> Iterator[Prepared | Refused]:
    if workers <= 1 or len(names) < 8:
        for name in names:
            yield prepare(name, cache_root)
        return
    # fork is fastest, but unsafe in a threaded process (the Streamlit server): use forkserver there.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        chunk = max(1, min(32, len(names) // (workers * 8)))
        yield from pool.map(prepare, names, [cache_root] * len(names), chunksize=chunk)


def import_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    project: Project,
    previews: bool = True,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    actor: str | None = None,
    rank: bool = True,
) -> ImportReport:
    """Import every file under ``paths`` into ``project`` (rows in its database, previews in its cache); never
    raises for a bad file (see the report).
    ``actor``, the account asking, must be allowed to import. A full disk raises ``StorageFull``: the
    batches written before it are kept, nothing of the current batch is, and no temporary file is left.
    ``rank``: re-rank the cold-start queue over the new images at the end (a caller importing in many small
    calls, such as the DICOMweb import, says False and ranks once when it is done)."""
    engine = project.engine
    with Session(engine) as session:
        rights.check(session, actor, rights.IMPORT)
    names, walk_refusals = _walk(paths)
    total = len(names) + len(walk_refusals)
    report = ImportReport()
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    try:
        with disk_full_as("the project's files", "nothing half-written was kept"), storage_full_on_refused_writes():
            _index_all(Project(project.home, engine), names, walk_refusals, report,
                       previews=previews, workers=workers, progress=progress, rank=rank)
    except StorageFull as error:
        outcome = (f"the import stopped after {report.files} of {total} file(s), which are kept; "
                   "nothing half-written was kept")
        raise StorageFull(error.area, outcome, "import again", error.failing) from error
    return report


def _walk(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[Refused]]:
    """The sources under ``paths`` and what the walk refused (unreadable folders, broken archives)."""
    names: list[str] = []
    refusals: list[Refused] = []
    for item in walk(list(paths)):
        if isinstance(item, Source):
            names.append(item.name)
        else:
            refusals.append(Refused(*item))
    return names, refusals


def _index_all(project: Project, names: list[str], walk_refusals: list[Refused], report: ImportReport, *,
               previews: bool, workers: int, progress: Callable[[int, int], None] | None, rank: bool = True) -> None:
    """Prepare ``names`` and write them in batches of ``BATCH_SIZE``, one transaction each, into ``report``."""
    engine, batch_id = project.engine, str(uuid.uuid4())
    done, total = len(walk_refusals), len(names) + len(walk_refusals)
    if walk_refusals:
        _write_batch(engine, list(walk_refusals), batch_id, report)
    if progress:
        progress(done, total)
    cache_root = str(project.cache_dir) if previews else None
    batch: list[Prepared | Refused] = []
    with closing(_prepared_stream(names, cache_root, workers)) as stream:  # closed: no worker outlives an error
        for result in stream:
            batch.append(result)
            if len(batch) >= BATCH_SIZE:
                _write_batch(engine, batch, batch_id, report)
                done += len(batch)
                batch = []
                if progress:
                    progress(done, total)
    if batch:
        _write_batch(engine, batch, batch_id, report)
        done += len(batch)
    if progress:
        progress(done, total)
    if report.images and rank:
        refresh_cold_start(project=project)


class FolderNotAllowed(MedalError):
    """A server folder outside the ones the server allows imports from."""


def server_folder(folder: str, *, engine: Engine, actor: str | None) -> Path:
    """The server folder an admin asked to import, once it is known to lie inside one of the folders in
    ``MEDAL_IMPORT_FOLDERS`` (links and ``..`` resolved first); ``FolderNotAllowed`` otherwise."""
    with Session(engine) as session:
        rights.check(session, actor, rights.IMPORT_SERVER_FOLDER)
    allowed = config().import_folders
    path = Path(folder).expanduser().resolve()
    if not any(path == root or root in path.parents for root in allowed):
        where = ", ".join(str(root) for root in allowed) or "none is set"
        raise FolderNotAllowed(f"{path} is not inside a folder this server imports from (MEDAL_IMPORT_FOLDERS: "
                               f"{where}); upload the files, or ask the server's administrator.")
    return path


def import_problems(limit: int = 1000, *, engine: Engine) -> list[ImportProblem]:
    """The files refused by imports, newest first."""
    with Session(engine) as session:
        statement = select(ImportProblem).order_by(ImportProblem.detected_at.desc(), ImportProblem.id.desc())
        return list(session.exec(statement.limit(limit)).all())

