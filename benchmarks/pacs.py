"""``medal bench dicomweb`` and ``medal bench stow``: Medal against a real PACS, on this machine.

Each starts a throw-away Orthanc (Debian's ``orthanc`` with its ``orthanc-dicomweb`` plug-in) on a free loopback
port with HTTP basic authentication on, uploads generated CT slices into it through Orthanc's own REST API
(``POST /instances``, several threads; timed apart), and measures the product's own code against it:

* ``dicomweb``: ``import_dicomweb`` of every instance into a fresh project (instances per second, the process's
  peak memory), then a second run into the same project, which holds everything already and fetches nothing;
* ``stow``: the slices imported by DICOMweb and each labeled with one polygon by a reader, then ``stow_segs``
  (SEGs per second, what the PACS stored), then the same SEGs sent again (the PACS replaces, adds nothing).

The credentials reach Medal the way they do in a hospital, through ``MEDAL_DICOMWEB_USER`` and
``MEDAL_DICOMWEB_PASSWORD`` (set for the run and restored after it). Orthanc is stopped and its folder removed
at the end, also on error; it is never started where it is not installed (:class:`OrthancMissing`).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import requests
from sqlmodel import Session, select

from benchmarks.ingest import fresh_project
from labeling.access import add_user
from labeling.export import stow_segs
from labeling.intake import SeriesPlace, SyntheticPatient, import_dicomweb, uid, write_ct_slice
from labeling.labels import RegionInput, save_annotation
from storage import Image, MedalError, Project

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER, PASSWORD = "medal-bench", "bench-pacs-secret"
READER, READER_PASSWORD = "bench-reader", "bench-reader-password-1"
PER_SERIES, SERIES_PER_STUDY = 100, 2  # 1000 instances: 10 series in 5 studies (one patient each)
UPLOAD_THREADS = 8
STUDY_DATE = date(2025, 6, 1)


class OrthancMissing(MedalError):
    """The PACS benchmarks need Orthanc and its DICOMweb plug-in, and this machine lacks one of them."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Pacs:
    """A running throw-away Orthanc: its REST root and helpers over its REST API."""

    rest: str
    folder: Path

    @property
    def dicomweb(self) -> str:
        return f"{self.rest}/dicom-web"

    def get(self, path: str) -> Any:
        answer = requests.get(f"{self.rest}{path}", auth=(USER, PASSWORD), timeout=60)
        answer.raise_for_status()
        return answer.json()

    def versions(self) -> dict[str, str]:
        plugin = self.get("/plugins/dicom-web")
        return {"orthanc": str(self.get("/system")["Version"]), "dicomweb_plugin": str(plugin.get("Version", "?"))}

    def instances(self) -> int:
        return int(self.get("/statistics")["CountInstances"])

    def upload(self, paths: list[Path], threads: int = UPLOAD_THREADS) -> None:
        """``POST /instances`` of every file, ``threads`` at a time (one HTTP session per thread)."""
        local = threading.local()

        def send(path: Path) -> None:
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.auth = (USER, PASSWORD)
            answer = local.session.post(f"{self.rest}/instances", data=path.read_bytes(), timeout=120,
                                        headers={"Content-Type": "application/dicom"})
            answer.raise_for_status()

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(send, paths))


@contextmanager
def running_orthanc() -> Iterator[Pacs]:
    """A fresh Orthanc with its DICOMweb plug-in on a free loopback port, stopped and removed at the end."""
    binary = shutil.which("Orthanc")
    if not binary or not PLUGIN.exists():
        missing = "Orthanc" if not binary else f"its DICOMweb plug-in ({PLUGIN})"
        raise OrthancMissing(f"The PACS benchmarks need Orthanc with its DICOMweb plug-in, and {missing} is not "
                             "installed; install the packages orthanc orthanc-dicomweb (Debian/Ubuntu: "
                             "apt-get install orthanc orthanc-dicomweb) and run the benchmark again.")
    folder = Path(tempfile.mkdtemp(prefix="medal-bench-orthanc-"))
    port = _free_port()
    settings = {"Name": "MedalBench", "StorageDirectory": str(folder / "db"), "IndexDirectory": str(folder / "db"),
                "HttpPort": port, "DicomPort": _free_port(), "RemoteAccessAllowed": False,
                "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD}, "Plugins": [str(PLUGIN)],
                "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}, "StableAge": 1}
    (folder / "orthanc.json").write_text(json.dumps(settings))
    log = (folder / "orthanc.log").open("wb")
    server = subprocess.Popen([binary, str(folder / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    pacs = Pacs(f"http://127.0.0.1:{port}", folder)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{pacs.rest}/system", auth=(USER, PASSWORD), timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "orthanc.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Orthanc did not start (exit code {server.poll()}); its log ends:\n{tail}")
            time.sleep(0.05)
        yield pacs
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def pacs_credentials() -> Iterator[None]:
    """``MEDAL_DICOMWEB_USER``/``_PASSWORD`` set to the bench PACS's account; the environment as it was after."""
    credentials = {"MEDAL_DICOMWEB_USER": USER, "MEDAL_DICOMWEB_PASSWORD": PASSWORD}
    with mock.patch.dict(os.environ, credentials):
        yield


def write_slices(folder: Path, count: int, size: int = 256, seed: int = 26) -> list[Path]:
    """``count`` ``size``×``size`` CT slices (HU, 16-bit stored), ``PER_SERIES`` to a series and
    ``SERIES_PER_STUDY`` series to a study, one patient per study."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    body = np.where((yy - size / 2) ** 2 / 0.9 + (xx - size / 2) ** 2 < (size * 0.42) ** 2, 40.0, -1000.0)
    paths = []
    for index in range(count):
        series = index // PER_SERIES
        study = series // SERIES_PER_STUDY
        place = SeriesPlace(SyntheticPatient(f"PACS{study:04d}", f"Pacs^{study}"), STUDY_DATE,
                            uid(seed, "study", study), uid(seed, "series", series), uid(seed, "for", study))
        hu = body + rng.normal(0, 25, (size, size))
        path = folder / f"{index:06d}.dcm"
        write_ct_slice(path, hu, place, index=index % PER_SERIES, sop_uid=uid(seed, "sop", index))
        paths.append(path)
    return paths


def _filled_pacs(pacs: Pacs, count: int, size: int) -> dict[str, float]:
    """Generate ``count`` slices and upload them; the times of both."""
    with tempfile.TemporaryDirectory(prefix="medal-bench-slices-") as scratch:
        started = time.perf_counter()
        paths = write_slices(Path(scratch), count, size)
        written = time.perf_counter()
        pacs.upload(paths)
        uploaded = time.perf_counter()
    held = pacs.instances()
    if held != count:
        raise RuntimeError(f"Orthanc holds {held} instance(s) after uploading {count}")
    return {"generate_s": round(written - started, 2), "upload_s": round(uploaded - written, 2),
            "upload_per_s": round(count / (uploaded - written), 1)}


def _max_rss_mb() -> float:
    """This process's peak resident memory so far (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def bench_dicomweb(instances: int = 1000, size: int = 256, traced: bool = False,
                   out: Path | None = None) -> dict[str, Any]:
    """Import ``instances`` CT slices from a throw-away Orthanc by DICOMweb into a fresh project, twice.
    ``traced``: a third import into another fresh project under ``tracemalloc``, for the peak of Python's own
    allocations (slower, so not the timed run)."""
    with running_orthanc() as pacs, pacs_credentials():
        setup = _filled_pacs(pacs, instances, size)
        with fresh_project() as project:
            rss_before = _max_rss_mb()
            first, seconds = _timed(lambda: import_dicomweb(pacs.dicomweb, project=project))
            rss_after = _max_rss_mb()
            again, again_s = _timed(lambda: import_dicomweb(pacs.dicomweb, project=project))
            images = first.as_dict()["images"]
        traced_peak = None
        if traced:
            with fresh_project() as project:
                tracemalloc.start()
                try:
                    import_dicomweb(pacs.dicomweb, project=project)
                    traced_peak = round(tracemalloc.get_traced_memory()[1] / 1024**2, 1)
                finally:
                    tracemalloc.stop()
        versions = pacs.versions()
    report = {
        "instances": instances, "image_size": f"{size}x{size}", "series": -(-instances // PER_SERIES),
        "retrieved": first.retrieved, "images": images, "refused": len(first.as_dict()["refused"]),
        "seconds": round(seconds, 2), "instances_per_s": round(first.retrieved / seconds, 1),
        "peak_rss_mb_before": round(rss_before, 1), "peak_rss_mb_after": round(rss_after, 1),
        "tracemalloc_peak_mb": traced_peak,
        "memory_note": "peak_rss_mb_*: resource.getrusage(RUSAGE_SELF).ru_maxrss of this process (a high-water "
                       "mark: it includes setup) just before and after the timed import; tracemalloc_peak_mb: "
                       "Python allocations only, in a separate untimed import (--tracemalloc), else null",
        "second_run_s": round(again_s, 2), "second_run_retrieved": again.retrieved,
        "second_run_already_held": again.already_held,
        **setup, "upload_threads": UPLOAD_THREADS, **versions, "cpus": os.cpu_count(),
    }
    _write(out, report)
    return report


def _label_every_image(project: Project) -> int:
    """One polygon (*Cancerous*) on every image, by a reader with an account; how many were labeled."""
    add_user(READER, READER_PASSWORD, engine=project.engine)
    with Session(project.engine) as session:
        images = session.exec(select(Image).order_by(Image.id)).all()
    for number, image in enumerate(images):
        x, y, radius = image.cols / 2 + (number % 7) * 3, image.rows / 2, image.cols / 10
        polygon = [[x + radius * np.cos(a), y + radius * np.sin(a)]
                   for a in np.linspace(0, 2 * np.pi, 16, endpoint=False)]
        save_annotation(image.id, READER, [RegionInput("Cancerous", "polygon", polygon)], engine=project.engine)
    return len(images)


def bench_stow(segs: int = 100, size: int = 256, out: Path | None = None) -> dict[str, Any]:
    """``segs`` CT slices imported by DICOMweb from a throw-away Orthanc, each labeled, then their SEGs sent
    back with STOW-RS, twice."""
    with running_orthanc() as pacs, pacs_credentials():
        setup = _filled_pacs(pacs, segs, size)
        with fresh_project() as project:
            (imported, labeled), setup_s = _timed(lambda: (import_dicomweb(pacs.dicomweb, project=project),
                                                           _label_every_image(project)))
            before = pacs.instances()
            first, seconds = _timed(lambda: stow_segs(pacs.dicomweb, project=project))
            after = pacs.instances()
            again, again_s = _timed(lambda: stow_segs(pacs.dicomweb, project=project))
            after_again = pacs.instances()
        versions = pacs.versions()
    report = {
        "segs": segs, "image_size": f"{size}x{size}", "imported": imported.retrieved, "labeled": labeled,
        "stored": len(first.stored), "refused": len(first.refused), "not_sent": len(first.not_sent),
        "seconds": round(seconds, 2), "segs_per_s": round(len(first.stored) / seconds, 1),
        "pacs_instances_before": before, "pacs_instances_after": after, "pacs_added": after - before,
        "second_send_s": round(again_s, 2), "second_send_stored": len(again.stored),
        "second_send_pacs_added": after_again - after,
        "import_and_label_s": round(setup_s, 2), **setup, **versions, "cpus": os.cpu_count(),
    }
    _write(out, report)
    return report


def _write(out: Path | None, report: dict[str, Any]) -> None:
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
