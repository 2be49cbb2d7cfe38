"""Broken input is refused with a reason, the import goes on, nothing is half-written."""

from __future__ import annotations

import os
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.encaps import encapsulate
from sqlmodel import Session, func, select

from labeling.intake import import_paths
from labeling.intake.ingest import prepare
from storage import Image, ImportProblem, Patient, Series, Study
from tests.conftest import pydicom_file
from tests.support.dicom_files import dicom_around_jpeg


def absurd_header(path: Path) -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.Rows = ds.Columns = 60000
    ds.NumberOfFrames = 1000
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(path)


def unsupported_syntax(path: Path) -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 64])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 video
    ds.save_as(path)


def broken_folder(folder: Path) -> dict[str, str]:
    """A folder with one good file and each kind of broken one; returns name → expected reason part."""
    folder.mkdir()
    shutil.copy(pydicom_file("CT_small.dcm"), folder / "good.dcm")
    data = pydicom_file("MR_small.dcm").read_bytes()
    (folder / "truncated.dcm").write_bytes(data[: len(data) // 2])
    (folder / "random.dcm").write_bytes(os.urandom(5000))
    absurd_header(folder / "absurd.dcm")
    unsupported_syntax(folder / "mpeg2.dcm")
    os.symlink(folder / "gone.dcm", folder / "unreadable.dcm")
    (folder / "header_only.dcm").write_bytes(data[:600])
    return {
        "truncated.dcm": "Truncated",
        "random.dcm": "Not a DICOM",
        "absurd.dcm": "megapixels per frame",
        "mpeg2.dcm": "Unsupported transfer syntax MPEG2",
        "unreadable.dcm": "Cannot read",
        "header_only.dcm": "truncated?",
    }


def test_broken_files_are_refused_and_the_import_goes_on(project, tmp_path: Path) -> None:
    expected = broken_folder(tmp_path / "mixed")
    report = import_paths([tmp_path / "mixed"], project=project, workers=1)
    assert report.imported == 1 and report.images == 1
    reasons = {Path(item["path"]).name: item["reason"] for item in report.rejected}
    assert set(reasons) == set(expected)
    for name, part in expected.items():
        assert part in reasons[name], (name, reasons[name])
        assert "\n" not in reasons[name] and "Traceback" not in reasons[name]
    with Session(project.engine) as session:
        assert session.exec(select(func.count()).select_from(Image)).one() == 1
        assert session.exec(select(func.count()).select_from(Series)).one() == 1
        assert session.exec(select(func.count()).select_from(Study)).one() == 1
        assert session.exec(select(func.count()).select_from(Patient)).one() == 1
        stored = {Path(p.path).name: p.reason for p in session.exec(select(ImportProblem)).all()}
    assert stored == reasons


def test_broken_files_in_worker_processes_too(project, tmp_path: Path) -> None:
    expected = broken_folder(tmp_path / "mixed")
    for index in range(10):  # enough files for the process pool to be used
        shutil.copy(pydicom_file("MR_small.dcm"), tmp_path / "mixed" / f"copy{index}.dcm")
    report = import_paths([tmp_path / "mixed"], project=project, workers=2)
    assert report.images == 2 and report.duplicates == 9
    assert {Path(item["path"]).name for item in report.rejected} == set(expected)


def test_absurd_dimensions_are_refused_without_allocating(tmp_path: Path) -> None:
    absurd_header(tmp_path / "absurd.dcm")
    tracemalloc.start()
    result = prepare(str(tmp_path / "absurd.dcm"), str(tmp_path / "cache"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "megapixels" in result.reason
    assert peak < 20 * 1024**2


def test_reimport_creates_nothing_new(project, tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm", "SC_rgb_rle_2frame.dcm"):
        shutil.copy(pydicom_file(name), folder / name)
    from PIL import Image as PILImage

    PILImage.new("L", (40, 30), 128).save(folder / "photo.png")
    first = import_paths([folder], project=project, workers=1)
    assert (first.imported, first.images, first.duplicates) == (4, 5, 0)
    again = import_paths([folder], project=project, workers=1)
    assert (again.imported, again.images, again.duplicates) == (0, 0, 4)
    # A copy under another name is still the same instance / the same picture.
    shutil.copy(folder / "photo.png", tmp_path / "renamed.png")
    shutil.copy(folder / "CT_small.dcm", tmp_path / "renamed.dcm")
    third = import_paths([tmp_path / "renamed.png", tmp_path / "renamed.dcm"], project=project, workers=1)
    assert (third.images, third.duplicates) == (0, 2)


def test_zip_archives_are_walked(project, tmp_path: Path) -> None:
    archive = tmp_path / "studies.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(pydicom_file("CT_small.dcm"), "a/ct")
        handle.write(pydicom_file("JPEG2000.dcm"), "b/j2k.bin")
        handle.writestr("notes.txt", "not an image")
    report = import_paths([archive], project=project, workers=1)
    assert report.images == 2
    assert [Path(r["path"]).name for r in report.rejected] == ["studies.zip!notes.txt"]
    from labeling.labels import get_image, list_images, render_frame

    images = list_images(engine=project.engine)
    assert {i.path for i in images} == {f"{archive}!a/ct", f"{archive}!b/j2k.bin"}
    assert all(render_frame(get_image(i.id, engine=project.engine), project=project).std() > 0 for i in images)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(project, tmp_path: Path) -> None:
    path = tmp_path / "secret.dcm"
    shutil.copy(pydicom_file("CT_small.dcm"), path)
    path.chmod(0)
    report = import_paths([path], project=project, workers=1)
    assert "Cannot read" in report.rejected[0]["reason"]


def test_a_file_name_that_is_not_utf8_is_refused_alone(project, tmp_path: Path) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    for name in ("a.dcm", "b.dcm", "c.dcm"):
        shutil.copy(pydicom_file("CT_small.dcm"), folder / name)
    with open(os.path.join(os.fsencode(folder), b"bad\xff.dcm"), "wb") as handle:  # not valid UTF-8
        handle.write(pydicom_file("MR_small.dcm").read_bytes())
    report = import_paths([folder], project=project)
    assert report.images == 1 and report.duplicates == 2  # the batch around it was kept
    (refused,) = report.rejected
    assert refused["path"].endswith("bad\\xff.dcm") and "not valid UTF-8" in refused["reason"]


def test_uploads_keep_every_file_under_a_safe_name(project) -> None:
    from labeling.intake import save_uploads

    folder = save_uploads([("..", b"dots"), ("x.dcm", b"one"), ("x.dcm", b"two"), ("../../etc/passwd", b"p"),
                           ("C:\\scans\\y.dcm", b"y"), ("", b"empty")], project=project)
    saved = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert saved == {"upload": b"dots", "x.dcm": b"one", "x-2.dcm": b"two", "passwd": b"p", "y.dcm": b"y",
                     "upload-2": b"empty"}


def test_uploads_given_as_files_are_copied_whole(project) -> None:
    """The Import page hands over the uploaded files themselves (copied in chunks, not duplicated in memory)."""
    import io

    from labeling.intake import save_uploads
    from labeling.intake.uploads import CHUNK_BYTES

    data = os.urandom(CHUNK_BYTES + 12_345)
    upload = io.BytesIO(data)
    upload.read(10)  # a file the page has read from before is still saved from its start
    folder = save_uploads([("scan.dcm", upload)], project=project)
    assert (folder / "scan.dcm").read_bytes() == data


def test_a_zip_bomb_member_is_refused_unread_and_the_rest_imported(project, tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(pydicom_file("CT_small.dcm"), "good.dcm")
        with bundle.open("zeros.dcm", "w", force_zip64=True) as member:  # 256 MB of zeros in ~250 KB
            chunk = bytes(1024**2)
            for _ in range(256):
                member.write(chunk)
    tracemalloc.start()
    report = import_paths([archive], project=project, workers=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.images == 1 and peak < 32 * 1024**2, peak
    (refused,) = report.rejected
    assert refused["path"].endswith("bomb.zip!zeros.dcm") and "-fold" in refused["reason"]


def test_a_file_over_the_size_limit_is_refused(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAL_MAX_FILE_MB", "0.1")
    folder = tmp_path / "files"
    folder.mkdir()
    shutil.copy(pydicom_file("MR_small.dcm"), folder / "small.dcm")  # 9.8 KB
    shutil.copy(pydicom_file("CT_small.dcm"), folder / "ct.dcm")
    (folder / "big.dcm").write_bytes(bytes(200 * 1024))
    report = import_paths([folder], project=project, workers=1)
    assert report.images == 2 and [r["reason"] for r in report.rejected] == [
        "The file holds 0.2 MB; Medal takes files of up to 0.1 MB."]


def test_every_tiff_page_is_measured_before_any_is_decoded(project, tmp_path: Path) -> None:
    from PIL import Image as PILImage

    path = tmp_path / "pages.tif"
    huge = PILImage.new("L", (12_000, 12_000))  # 144 megapixels of zeros: a few hundred KB deflated
    PILImage.new("L", (1, 1)).save(path, save_all=True, append_images=[huge], compression="tiff_adobe_deflate")
    del huge
    tracemalloc.start()
    report = import_paths([path], project=project, workers=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.images == 0 and peak < 32 * 1024**2, peak
    assert report.rejected[0]["reason"] == ("Page 2 declares 12,000×12,000 pixels (144.0 megapixels); Medal decodes"
                                            " at most 40 megapixels per frame (MEDAL_MAX_MEGAPIXELS).")


def test_a_codestream_larger_than_its_header_is_refused_before_decoding(project, tmp_path: Path) -> None:
    path = tmp_path / "liar.dcm"
    dicom_around_jpeg(path, 4000, 3000)  # a 12-megapixel codestream in a few KB
    report = import_paths([path], project=project, workers=1)
    assert report.images == 0
    assert report.rejected[0]["reason"] == ("The frame's codestream is 3,000×4,000 pixels but the header says 64×64; "
                                            "the file is inconsistent and is not decoded.")
