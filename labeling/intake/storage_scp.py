"""A DICOM Storage SCP (``medal listen``): modalities and PACS push studies to Medal (C-STORE; C-ECHO answers
a verification), and the instances are imported as they come — every ``IMPORT_BATCH`` of an association, and
the rest when it ends — through the same checks as a file import (decode, size, header against codestream).

Only the calling AE titles on the allow-list may associate (pynetdicom refuses the others with an
A-ASSOCIATE-RJ); an empty list allows any, and says so when the listener starts. A received instance is written
once, unmodified, under ``<home>/received/<StudyInstanceUID>/<SOPInstanceUID>.dcm`` (the names are checked UIDs,
never paths the sender chose); an instance larger than ``MEDAL_MAX_FILE_MB`` is refused with "out of resources"
before it is decoded.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification

from labeling.intake.ingest import ImportReport, import_paths
from labeling.labels import refresh_cold_start
from storage import Project, config

log = logging.getLogger(__name__)
SUCCESS, OUT_OF_RESOURCES, CANNOT_UNDERSTAND = 0x0000, 0xA700, 0xC000
IMPORT_BATCH = 64  # received instances imported together while an association goes on
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass
class Received:
    """What one association brought: the files written, and each import's report."""

    files: list[Path] = field(default_factory=list)
    reports: list[ImportReport] = field(default_factory=list)


@dataclass
class Listener:
    """A running Storage SCP; ``stop()`` ends it."""

    server: object
    received: Received
    lock: threading.Lock

    def stop(self) -> None:
        self.server.shutdown()


def listen(*, project: Project, ae_title: str = "MEDAL", port: int = 11112, bind: str = "0.0.0.0",
           allowed: list[str] | None = None, on_import: Callable[[ImportReport], None] | None = None) -> Listener:
    """Start the Storage SCP for ``project`` on its own threads (see the module docstring); ``on_import`` hears
    each batch's import report."""
    ae = AE(ae_title=ae_title)
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context(Verification)
    if allowed:
        ae.require_calling_aet = [title.strip() for title in allowed if title.strip()]
    received, lock = Received(), threading.Lock()
    pending: dict[int, list[Path]] = {}
    new_images: dict[int, int] = {}  # images each association brought so far (the queue is ranked at its end)
    folder = project.folder("received")

    def on_store(event: evt.Event) -> int:
        size = event.request.DataSet.getbuffer().nbytes if event.request.DataSet is not None else 0  # no copy
        if size > config().max_file_mb * 1024**2:
            log.warning("refused an instance of %.1f MB (MEDAL_MAX_FILE_MB %s)", size / 1024**2, config().max_file_mb)
            return OUT_OF_RESOURCES
        dataset = event.dataset
        dataset.file_meta = event.file_meta
        study, sop = str(dataset.get("StudyInstanceUID", "")), str(dataset.get("SOPInstanceUID", ""))
        if not (_UID.match(study) and _UID.match(sop)):
            return CANNOT_UNDERSTAND
        path = folder / study / f"{sop}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            dataset.save_as(path, enforce_file_format=True)
        waiting = pending.setdefault(id(event.assoc), [])
        waiting.append(path)
        if len(waiting) >= IMPORT_BATCH:
            take(id(event.assoc), pending.pop(id(event.assoc)))
        return SUCCESS

    def on_end(event: evt.Event) -> None:
        take(id(event.assoc), pending.pop(id(event.assoc), []))
        if new_images.pop(id(event.assoc), 0):  # the queue is ranked once, when the association ends (ranking
            refresh_cold_start(project=project)  # reads up to 500 previews and clusters them)

    def take(association: int, files: list[Path]) -> None:
        if not files:
            return
        report = import_paths(files, project=project, workers=1, rank=False)
        with lock:
            received.files += files
            received.reports.append(report)
            new_images[association] = new_images.get(association, 0) + report.images
        if on_import:
            on_import(report)

    handlers = [(evt.EVT_C_STORE, on_store), (evt.EVT_RELEASED, on_end), (evt.EVT_ABORTED, on_end)]
    server = ae.start_server((bind, port), block=False, evt_handlers=handlers)
    return Listener(server, received, lock)

