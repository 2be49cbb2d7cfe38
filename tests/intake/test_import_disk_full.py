"""A full disk during an import or an upload: one clear message (``StorageFull``, ``medal import`` exits 2),
the batches written before kept, nothing half-written (no ``*.tmp``, no image row without its cache files)."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from sqlmodel import Session, func, select

from labeling.dicom import FrameCache
from labeling.intake import import_paths, ingest
from storage import Image, ImportProblem, Project, StorageFull, current_project
from tests.support.full_disk import full_database, images_without_cache, integrity, leftovers, run_limited

LIMIT = 1024**2  # no file may grow past 1 MiB: the big image's 2 MiB of cached values cannot be written
IMPORT = """
from labeling.intake import ingest
from labeling.cli.main import main
ingest.BATCH_SIZE = 4
sys.exit(main(["import", "--workers", sys.argv[1], sys.argv[2]]))
"""


def small_pngs(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        PILImage.fromarray(np.full((16, 16), index * 7 % 256, np.uint8)).save(folder / f"a{index:03}.png")
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Ten small PNGs, then (last in the walk's order) a 1024×1024 16-bit one whose cached frame holds 2 MiB."""
    folder = small_pngs(tmp_path / "in", 10)
    ramp = (np.arange(1024 * 1024, dtype=np.uint32) % 65536).astype(np.uint16).reshape(1024, 1024)
    PILImage.fromarray(ramp).save(folder / "z-big.png")
    return folder


def count(project: Project, model: type) -> int:
    with Session(project.engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize("workers", ["1", "2"], ids=["in-process", "worker-processes"])
def test_a_full_disk_stops_medal_import_with_one_line_and_nothing_half_written(project: Project, folder: Path,
                                                                               workers: str) -> None:
    home = current_project().home
    project.engine.dispose()  # the child opens the database itself
    result = run_limited(IMPORT, home, LIMIT, workers, str(folder))
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message, result.stderr
    assert message.startswith("medal: The server's disk is full: the project's files could not be written")
    assert "the import stopped after 8 of 11 file(s), which are kept" in message and "import again" in message
    assert str(home) not in message and str(folder) not in message  # no server path
    assert leftovers(home) == []
    assert count(project, Image) == 8  # two batches of 4
    assert count(project, ImportProblem) == 0  # a full disk is no file's fault
    assert images_without_cache(project.engine, home) == [] and integrity(project.engine) == "ok"
    report = import_paths([str(folder)], project=project, workers=1)  # with space again, the import completes
    assert (report.images, report.duplicates, report.rejected) == (3, 8, [])
    assert images_without_cache(project.engine, home) == []


def test_a_full_database_stops_the_import_after_the_batches_it_wrote(project: Project, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    folder = small_pngs(tmp_path / "in", 60)
    monkeypatch.setattr(ingest, "BATCH_SIZE", 20)
    with full_database(project.engine) as full, pytest.raises(StorageFull) as raised:
        import_paths([str(folder)], project=project, workers=1,
                     progress=lambda done, _total: full.fill() if done == 20 else None)  # full after one batch
    message = str(raised.value)
    assert message.startswith("The server's disk is full: the project's database could not be written; "
                              "the import stopped after 20 of 60 file(s), which are kept")
    assert count(project, Image) == 20 and integrity(project.engine) == "ok"
    home = current_project().home
    assert leftovers(home) == [] and images_without_cache(project.engine, home) == []
    assert import_paths([str(folder)], project=project, workers=1).images == 40


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG], ids=["ENOSPC", "EDQUOT", "EFBIG"])
@pytest.mark.parametrize("which", ["frame", "preview"])
def test_a_cache_write_the_disk_refuses_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 code: int, which: str) -> None:
    cache, key = FrameCache(tmp_path / "cache"), "ab" + "0" * 38
    target = cache.array_path(key) if which == "frame" else cache.preview_path(key)
    real_open = open

    def filling_open(path, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202 (open's signature)
        handle = real_open(path, mode, *args, **kwargs)
        if Path(path).parent == target.parent and "w" in mode:
            real_write = handle.write

            def write(data: bytes) -> int:
                real_write(bytes(data)[:10])  # part of it reached the disk
                raise OSError(code, "No space left on device")

            handle.write = write
        return handle

    monkeypatch.setattr("builtins.open", filling_open)
    with pytest.raises(StorageFull, match="the project's files could not be written"):
        cache.store(key, np.zeros((64, 64), np.int16), np.zeros((64, 64), np.uint8))
    monkeypatch.undo()
    assert list(cache.root.rglob("*.tmp")) == [] and not target.exists() and not cache.has(key)


def test_any_other_failed_cache_write_still_leaves_no_temporary_file(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cache, key = FrameCache(tmp_path / "cache"), "cd" + "0" * 38

    def broken(_image: PILImage.Image, target, *_args, **_kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        if isinstance(target, (str, Path)):
            Path(target).write_bytes(b"\x89PNG")
        else:
            target.write(b"\x89PNG")
        raise OSError(errno.EIO, "Input/output error")  # part of the preview is on the disk

    monkeypatch.setattr(PILImage.Image, "save", broken)
    with pytest.raises(OSError) as raised:  # not a full disk: not reported as one
        cache.store(key, np.zeros((8, 8), np.int16), np.zeros((8, 8), np.uint8))
    assert not isinstance(raised.value, StorageFull) and raised.value.errno == errno.EIO
    assert list(cache.root.rglob("*.tmp")) == [] and not cache.has(key)


UPLOAD = """
import io
from labeling.intake.uploads import save_uploads
from storage.errors import StorageFull
from storage.project import current_project
try:
    save_uploads([("one.dcm", b"x" * 1000), ("big.dcm", io.BytesIO(b"y" * 3 * 1024**2))], project=current_project())
except StorageFull as error:
    print(error)
    sys.exit(2)
"""


def test_an_upload_the_disk_cannot_hold_is_removed_whole(project: Project) -> None:
    home = current_project().home
    project.engine.dispose()
    result = run_limited(UPLOAD, home, LIMIT)
    assert result.returncode == 2, result.stderr
    assert result.stdout.strip() == ("The server's disk is full: the uploaded files could not be written; the upload "
                                     "was not kept. Free disk space on the server (or ask your IT team), then upload "
                                     "again.")
    assert list((home / "uploads").iterdir()) == []  # not even the first, complete file


def test_a_broken_upload_stream_leaves_no_folder(project: Project) -> None:
    from labeling.intake import save_uploads

    class Broken(io.BytesIO):
        def read(self, *_args) -> bytes:  # noqa: ANN002
            raise ConnectionResetError("the browser went away")

    with pytest.raises(ConnectionResetError):
        save_uploads([("one.dcm", b"x"), ("two.dcm", Broken(b"y"))], project=project)
    assert list((current_project().home / "uploads").iterdir()) == []


def test_storage_full_crosses_from_a_worker_process_whole() -> None:
    import pickle

    error = StorageFull("the project's files", "the file being written was removed", failing=True)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is StorageFull and str(again) == str(error) and again.failing
