"""Benchmarks that print numbers: ``medal bench ingest`` (indexing and import speed) and
``medal bench next`` (save an annotation, then fetch the next image ready to show)."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from labeling.access import add_user
from labeling.intake import SeriesPlace, SyntheticPatient, import_paths, uid, write_ct_slice
from labeling.labels import (
    ReadingPlan,
    RegionInput,
    get_image,
    next_image,
    render_frame,
    save_annotation,
    set_priorities,
    set_reading_plan,
)
from storage import Image, Project

BENCH_SIZE = 256
PATIENTS = 50
STUDY_DATE = date(2025, 1, 1)


def write_bench_files(folder: Path, count: int, seed: int = 0) -> None:
    """``count`` valid CT files (256², HU rescale, two windows) over 50 patients."""
    rng = np.random.default_rng(seed)
    base = rng.integers(900, 1200, (BENCH_SIZE, BENCH_SIZE)).astype(np.float32) - 1024
    for index in range(count):
        patient, series = index % PATIENTS, index % (PATIENTS * 4)
        place = SeriesPlace(SyntheticPatient(f"BENCH{patient:03d}", f"Bench^{patient}"), STUDY_DATE,
                            uid(seed, "study", patient), uid(seed, "series", series), uid(seed, "for", patient))
        write_ct_slice(folder / f"{index:06d}.dcm", np.roll(base, index, axis=1), place, index=index,
                       spacing=0.7, thickness=1.0)


@contextmanager
def fresh_project(database_url: str | None = None) -> Iterator[Project]:
    """A new, empty project in a temporary home, for the duration of the block (the process's
    configured project is left alone); its database at ``database_url`` (an empty one) instead of SQLite."""
    with tempfile.TemporaryDirectory(prefix="medal-bench-") as home:
        project = Project.open(home, database_url)
        try:
            yield project
        finally:
            project.close()


def _timed_import(folder: Path, previews: bool, workers: int | None) -> tuple[float, int]:
    with fresh_project() as project:
        start = time.perf_counter()
        report = import_paths([folder], project=project, previews=previews, workers=workers)
        elapsed = time.perf_counter() - start
    if report.rejected:
        raise RuntimeError(f"benchmark files were refused: {report.rejected[:3]}")
    return elapsed, report.images


def bench_ingest(files: int = 2000, workers: int | None = None, repeats: int = 3,
                 out: Path | None = None) -> dict[str, Any]:
    """Median over ``repeats`` fresh projects of indexing (no previews) and full import."""
    with tempfile.TemporaryDirectory(prefix="medal-bench-files-") as scratch:
        folder = Path(scratch)
        write_bench_files(folder, files)
        index_runs = [_timed_import(folder, False, workers) for _ in range(repeats)]
        full_runs = [_timed_import(folder, True, workers) for _ in range(repeats)]
    index_rates = [files / seconds for seconds, _ in index_runs]
    full_rates = [images / seconds for seconds, images in full_runs]
    result = {
        "files": files,
        "workers": workers or os.cpu_count(),
        "cpus": os.cpu_count(),
        "index_files_per_s": round(statistics.median(index_rates), 1),
        "index_files_per_s_runs": [round(rate, 1) for rate in index_rates],
        "import_images_per_s": round(statistics.median(full_rates), 1),
        "import_images_per_s_runs": [round(rate, 1) for rate in full_rates],
        "image_size": f"{BENCH_SIZE}x{BENCH_SIZE}",
    }
    _write_result(result, out)
    return result


def _write_result(result: dict[str, Any], out: Path | None) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))


def _fill_queue(engine: Engine, total: int, seed: int = 0) -> None:
    """Copy the imported rows until the table holds ``total`` images, then give them random priorities."""
    rng = np.random.default_rng(seed)
    with Session(engine) as session:
        templates = [image.model_dump(exclude={"id"}) for image in session.exec(select(Image)).all()]
    missing = total - len(templates)
    for start in range(0, missing, 5000):
        rows = []
        for index in range(start, min(start + 5000, missing)):
            row = dict(templates[index % len(templates)])
            row["sop_instance_uid"] = f"2.25.{seed}.{index}"
            rows.append(row)
        with Session(engine) as session:
            session.execute(insert(Image), rows)
            session.commit()
    with Session(engine) as session:
        ids = session.exec(select(Image.id).order_by(Image.id)).all()
    set_priorities(dict(zip(ids, rng.random(len(ids)).tolist())), engine=engine)


def bench_next(images: int = 100_000, saves: int = 300, out: Path | None = None, readers: int = 1,
               database_url: str | None = None) -> dict[str, Any]:
    """Server-side time of one Label-page step: save an annotation with a region, lease the next
    image and load its picture ready to show, over ``saves`` steps on ``images`` images. With ``readers``
    per image (the reading plan), as many readers take turns: after the first, each gets the images the
    others read (a second reading comes before new images). ``database_url``: an empty PostgreSQL database
    instead of SQLite."""
    with tempfile.TemporaryDirectory(prefix="medal-bench-files-") as scratch, fresh_project(database_url) as project:
        folder = Path(scratch)
        write_bench_files(folder, 200)
        engine = project.engine
        import_paths([folder], project=project)
        _fill_queue(engine, images)
        names = [f"bench{n}" for n in range(readers)]
        for name in names:
            add_user(name, f"{name}-password", "annotator", engine=engine)
        set_reading_plan(ReadingPlan(readers=readers), engine=engine)
        region = [RegionInput("Cancerous", "rect", [[10, 10], [60, 10], [60, 50], [10, 50]])]
        items = {name: next_image(name, engine=engine) for name in names}
        timings = []
        for step in range(saves):
            name = names[step % readers]
            start = time.perf_counter()
            save_annotation(items[name].image_id, name, region, image_label="cancerous", engine=engine)
            items[name] = item = next_image(name, engine=engine)
            picture = render_frame(get_image(item.image_id, engine=engine), project=project)
            timings.append((time.perf_counter() - start) * 1000)
            if not picture.size:
                raise RuntimeError(f"image {item.image_id} rendered empty")
        with Session(engine) as session:
            count = session.exec(select(func.count()).select_from(Image)).one()
    result = {"images": count, "readers": readers, "database": project.engine.dialect.name, "saves": saves,
              "p50_ms": round(float(np.percentile(timings, 50)), 2),
              "p95_ms": round(float(np.percentile(timings, 95)), 2), "max_ms": round(max(timings), 2)}
    _write_result(result, out)
    return result

