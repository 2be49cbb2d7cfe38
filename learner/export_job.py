"""An export as a background job (``jobs.enqueue("export", ...)``): a large export runs in the worker, with its
progress on the job, instead of holding a page for minutes.

The job's parameters are the export's options as JSON and ``actor``, the account that asked: the export checks
that account's right as it is when the job starts (one disabled or demoted since asking gets a failed job that
says so). The folder is the project's next export folder; a job that fails or is cancelled leaves no half-written
folder behind. Its result names the folder (``name``), which the Export page offers for download.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import fields
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine

from labeling.export import ExportOptions, export_dataset, new_export_folder
from learner.jobs import enqueue
from learner.registry import active_summary, labeled_count
from storage import Project

BACKGROUND_EXPORT_IMAGES = 200  # an export of more labeled images than this runs in the worker
Progress = Callable[[float, str], None]


def export_in_background(*, engine: Engine) -> bool:
    """Whether an export of this project is large enough to run in the worker rather than in the page."""
    return labeled_count(engine) > BACKGROUND_EXPORT_IMAGES


def queue_export(options: ExportOptions, *, actor: str, engine: Engine) -> int:
    """Queue an export of ``options`` for ``actor`` (who must be allowed it now, and again when it starts)."""
    return enqueue("export", export_params(options, actor), actor=actor, engine=engine)


def export_params(options: ExportOptions, actor: str) -> dict[str, Any]:
    """The job parameters for an export of ``options`` asked for by ``actor`` (JSON values only)."""
    values = {field.name: getattr(options, field.name) for field in fields(options)}
    values["since"] = options.since.isoformat() if options.since else None
    return values | {"actor": actor}


def run_export(project: Project, progress: Progress, params: dict[str, Any]) -> dict[str, Any]:
    """Run the export the job's ``params`` describe (see the module docstring); returns its folder's name and
    counts."""
    values = {field.name: params[field.name] for field in fields(ExportOptions) if field.name in params}
    if values.get("since"):
        values["since"] = date.fromisoformat(values["since"])
    options = ExportOptions(**values)
    out = new_export_folder(project=project)
    try:
        report = export_dataset(out, options, project=project, actor=params.get("actor"),
                                model=active_summary(engine=project.engine),
                                progress=lambda done, total: progress(done / max(total, 1),
                                                                      f"{done} of {total} images exported"))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return {"name": report.out.name, "images": report.images, "formats": report.card["formats"],
            "deidentified": report.card["deidentified"]}
