"""Exports (COCO, masks, SEG, CSV, card), de-identification and label import on real DICOM files."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from PIL import Image as PILImage
from pycocotools.coco import COCO
from pydicom.uid import generate_uid

from labeling.cli.main import main
from labeling.export import ExportError, ExportOptions, export_dataset, import_labels
from labeling.export.label_import import LabelImportError
from labeling.intake import import_paths
from labeling.labels import RegionInput, list_annotations, list_images, region_mask, save_annotation
from storage import Project, current_project
from tests.conftest import pydicom_file

# CT and MR with a Frame of Reference; NM (secondary capture) and US are left out of a de-identified
# export unless asked; 693_J2KI has no Frame of Reference (no SEG, a reason instead).
SOURCES = ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "693_J2KI.dcm", "ExplVR_BigEnd.dcm"]
IDENTIFYING = ("PatientName", "PatientID", "PatientBirthDate", "StudyInstanceUID", "SeriesInstanceUID",
               "SOPInstanceUID", "AccessionNumber", "InstitutionName", "FrameOfReferenceUID",
               "ReferringPhysicianName", "StationName", "InstitutionAddress")
BOX = [[5.0, 5.0], [25.0, 5.0], [25.0, 30.0], [5.0, 30.0]]
TRIANGLE = [[30.0, 30.0], [50.0, 32.0], [40.0, 50.0]]
PATH = [[52.0, 8.0], [58.0, 9.5], [59.0, 18.0], [53.5, 17.0]]


def second_study(folder: Path) -> Path:
    """CT_small's patient seen again 45 days later: a new study, series and instance."""
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyDate = (dt.datetime.strptime(ds.StudyDate, "%Y%m%d") + dt.timedelta(days=45)).strftime("%Y%m%d")
    ds.AccessionNumber = "ACC-SECOND-4711"
    path = folder / "ct_followup.dcm"
    ds.save_as(path)
    return path


def sources(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "sources"
    folder.mkdir()
    paths = [Path(shutil.copy(pydicom_file(name), folder / name)) for name in SOURCES]
    return paths + [second_study(folder)]


def label_everything(project: Project) -> None:
    for image in list_images(engine=project.engine):
        regions = [RegionInput("Cancerous", "rect", BOX), RegionInput("Healthy", "polygon", TRIANGLE)]
        if image.cols >= 64:
            regions.append(RegionInput("Cancerous", "path", PATH))
        save_annotation(image.id, "alice", regions, image_label="cancerous", engine=project.engine)
        if image.id % 2:
            save_annotation(image.id, "bob", [RegionInput("Healthy", "rect", [[2, 40], [12, 40], [12, 50], [2, 50]])],
                            image_label="healthy", engine=project.engine)


@pytest.fixture
def labeled(project, tmp_path: Path) -> list[Path]:
    paths = sources(tmp_path)
    report = import_paths([str(p) for p in paths], project=project)
    assert not report.rejected, report.rejected
    label_everything(project)
    return paths


def identifying_values(paths: list[Path]) -> set[str]:
    headers = [pydicom.dcmread(path, stop_before_pixels=True) for path in paths]
    # Annex E keeps Manufacturer: MR_small's institution "TOSHIBA" is also its manufacturer's name, and
    # the US file's institution "GE MEDICAL SYSTEMS" is CT_small's manufacturer.
    kept = " ".join(f"{ds.get('Manufacturer', '')} {ds.get('ManufacturerModelName', '')}" for ds in headers)
    values: set[str] = set()
    for ds in headers:
        for keyword in IDENTIFYING:
            value = str(ds.get(keyword) or "").strip()
            if len(value) >= 4 and value not in kept:
                values.add(value)
                values.update(part for part in value.split("^") if len(part) >= 4)
    return values


def exported_files(out: Path) -> list[Path]:
    return [p for p in sorted(out.rglob("*")) if p.is_file()]


def test_deidentified_export_holds_no_original_identifier(project, labeled: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "export"
    report = export_dataset(out, ExportOptions(["all"], deidentify=True, split="70,15,15", include_burned_in=True),
                            project=project)
    assert report.images == len(labeled)
    secrets = identifying_values(labeled)
    assert {"CompressedSamples^CT1", "1CT1", "JFK IMAGING CENTER", "ACC-SECOND-4711"} <= secrets
    files = exported_files(out)
    assert len(files) > 20
    for path in files:
        data = path.read_bytes()
        for value in secrets:
            assert value.encode() not in data, f"{value!r} found in {path.relative_to(out)}"
            assert value not in str(path.relative_to(out))
    dicoms = [p for p in files if p.suffix == ".dcm"]
    assert {p.parent.name for p in dicoms} == {"dicom", "seg"}
    for path in dicoms:
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES", path
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED", path
        assert "113100" in [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
        assert not [element.tag for element in ds.iterall() if element.tag.is_private], path


def test_dates_shift_per_patient_and_keep_intervals(project, labeled: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_dataset(out, ExportOptions(["seg"], deidentify=True), project=project)
    original = sorted(dt.datetime.strptime(pydicom.dcmread(p).StudyDate, "%Y%m%d")
                      for p in (pydicom_file("CT_small.dcm"), labeled[-1]))
    copies = [pydicom.dcmread(p) for p in sorted((out / "dicom").glob("*.dcm"))]
    ct = [ds for ds in copies if ds.Modality == "CT" and ds.Rows == 128]
    assert len(ct) == 2 and ct[0].PatientID == ct[1].PatientID  # one patient, two studies
    assert ct[0].StudyInstanceUID != ct[1].StudyInstanceUID
    shifted = sorted(dt.datetime.strptime(ds.StudyDate, "%Y%m%d") for ds in ct)
    assert shifted[1] - shifted[0] == original[1] - original[0] == dt.timedelta(days=45)
    assert original[0] - shifted[0] >= dt.timedelta(days=365)  # moved back by a year or more
    others = [ds for ds in copies if ds not in ct]
    assert others and all(ds.StudyDate != "" for ds in others)
    for ds in copies:
        assert not ds.get("PatientBirthDate")
        assert ds.PatientID.startswith("P") and ds.PatientName == ds.PatientID + "^"
        assert ds.StudyInstanceUID.startswith("2.25.") and ds.FrameOfReferenceUID.startswith("2.25.")
        assert ds.SOPClassUID == pydicom.dcmread(pydicom_file("CT_small.dcm")).SOPClassUID or ds.Modality != "CT"


def test_seg_reads_back_the_drawn_masks_and_references_the_exported_sources(project, labeled: list[Path],
                                                                            tmp_path: Path) -> None:
    out = tmp_path / "export"
    report = export_dataset(out, ExportOptions(["seg", "masks", "coco"], deidentify=True), project=project)
    coco = json.loads((out / "coco.json").read_text())
    uid_of = {image["file_name"].split("/")[1].removesuffix(".png"): image["sop_instance_uid"]
              for image in coco["images"]}
    sources = {pydicom.dcmread(p).SOPInstanceUID: p for p in (out / "dicom").glob("*.dcm")}
    segs = sorted((out / "seg").glob("*.dcm"))
    # CT, the CT follow-up and MR have a Frame of Reference: alice everywhere, bob on odd image ids.
    assert len(segs) == len(sources) + sum(1 for s in segs if s.name.endswith(".bob.dcm")) and len(sources) == 3
    for path in segs:
        stem, annotator = path.name.split(".")[:2]
        seg = hd.seg.segread(path)
        source_uid = seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID
        assert source_uid == uid_of[stem] and source_uid in sources
        assert seg.PatientIdentityRemoved == "YES"
        assert [(d.segment_label, d.SegmentedPropertyTypeCodeSequence[0].CodeValue) for d in seg.SegmentSequence] == \
            [("Cancerous", "108369006"), ("Healthy", "17621005")]
        masks = seg.get_pixels_by_source_instance([source_uid], segment_numbers=[1, 2])[0]
        drawn = np.asarray(PILImage.open(out / "masks" / f"{stem}.{annotator}.png"))
        assert masks[..., 0].any() or annotator == "bob"
        assert np.array_equal(masks[..., 0], drawn == 1) and np.array_equal(masks[..., 1], drawn == 2)
    skipped = report.card["files"]["seg"]["skipped"]
    assert [s for s in skipped if "Frame of Reference" in s["reason"]]
    assert {item["reason"].split(",")[0] for item in report.card["left_out"]} == {
        "secondary capture", "ultrasound"}


def test_masks_match_the_drawn_regions(project, labeled: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_dataset(out, ExportOptions(["masks"], split="50,50,0"), project=project)
    rows = list(csv.DictReader(open(out / "manifest.csv")))
    annotations = list_annotations(engine=project.engine)
    assert len(rows) == len(annotations)
    card = json.loads((out / "dataset_card.json").read_text())
    assert card["mask_values"] == {"0": "background", "1": "Cancerous", "2": "Healthy"}
    by_key = {(r["image_file"], r["annotator"]): r for r in rows}
    for image in list_images(engine=project.engine):
        for annotation in [a for a in annotations if a.image_id == image.id]:
            row = by_key[(f"images/{image.patient_key}_{image.id}.png", annotation.annotator)]
            picture = np.asarray(PILImage.open(out / row["image_file"]))
            mask = np.asarray(PILImage.open(out / row["mask_file"]))
            assert picture.shape[:2] == mask.shape == (image.rows, image.cols) and picture.dtype == np.uint8
            expected = np.zeros(mask.shape, np.uint8)
            for region in sorted(annotation.regions, key=lambda r: r.label):
                expected[region_mask(region.points, image.rows, image.cols)] = 1 if region.label == "Cancerous" else 2
            assert np.array_equal(mask, expected)
            assert row["image_label"] == annotation.image_label and row["patient_key"] == image.patient_key


def test_coco_loads_in_pycocotools_with_every_annotation(project, labeled: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_dataset(out, ExportOptions(["coco"]), project=project)
    coco = COCO(str(out / "coco.json"))
    regions = sum(len(a.regions) for a in list_annotations(engine=project.engine))
    assert len(coco.getAnnIds()) == regions == 6 * 3 + 3  # alice: three per image; bob: a box on every odd image id
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["Cancerous", "Healthy"]
    assert coco.loadCats(1)[0]["snomed"]["type_code"] == "108369006"
    for image in coco.loadImgs(coco.getImgIds()):
        assert image["sop_instance_uid"] and (out / image["file_name"]).exists()
        with PILImage.open(out / image["file_name"]) as picture:
            assert picture.size == (image["width"], image["height"])
    for annotation in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(annotation)
        assert abs(int(mask.sum()) - annotation["area"]) <= 0.6 * annotation["area"] + 30
        x, y, w, h = annotation["bbox"]
        assert annotation["attributes"]["annotator"] in {"alice", "bob"} and w > 0 and h > 0


def test_export_then_import_into_a_fresh_project_gives_the_same_annotations(
        project, labeled: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "export"
    export_dataset(out, ExportOptions(["coco", "csv"]), project=project)

    def readings(engine) -> list[tuple]:  # noqa: ANN001 (a project's engine)
        uid = {image.id: (image.sop_instance_uid, image.frame) for image in list_images(engine=engine)}
        return sorted((uid[a.image_id], a.annotator, a.image_label,
                       tuple((r.label, r.shape, tuple(map(tuple, r.points))) for r in a.regions))
                      for a in list_annotations(engine=engine))

    before = readings(project.engine)
    monkeypatch.setenv("MEDAL_HOME", str(tmp_path / "fresh"))
    fresh = current_project()
    import_paths([str(p) for p in labeled], project=fresh)
    assert main(["labels", "import", str(out / "coco.json")]) == 0  # the command opens the configured one: fresh
    assert readings(fresh.engine) == before
    assert {image.status for image in list_images(engine=fresh.engine)} == {"labeled"}

    monkeypatch.setenv("MEDAL_HOME", str(tmp_path / "fresh-csv"))
    fresh_csv = current_project()
    import_paths([str(p) for p in labeled], project=fresh_csv)
    report = import_labels(out / "labels.csv", engine=fresh_csv.engine)
    assert report.annotations == len(before) and report.regions == 0
    assert sorted((r[0], r[1], r[2]) for r in readings(fresh_csv.engine)) == sorted((r[0], r[1], r[2]) for r in before)


def test_deidentified_export_reimports_with_its_own_sources(project, labeled: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_dataset(out, ExportOptions(["seg", "coco"], deidentify=True), project=project)
    recipient = Project.open(tmp_path / "recipient")
    import_paths([str(out / "dicom")], project=recipient)
    report = import_labels(out / "coco.json", skip_unknown=True, engine=recipient.engine)
    assert report.images == 3 and len(report.unknown_images) == 1  # 693_J2KI has no SEG source copy
    assert {a.annotator for a in list_annotations(engine=recipient.engine)} == {"alice", "bob"}


def test_import_refuses_unknown_images_and_classes_and_writes_nothing(project, labeled: list[Path],
                                                                     tmp_path: Path) -> None:
    image = list_images(engine=project.engine)[0]
    document = {
        "images": [{"id": 1, "file_name": f"{image.sop_instance_uid}.png", "width": image.cols, "height": image.rows},
                   {"id": 2, "file_name": "x.png", "sop_instance_uid": "1.2.3.999", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "cancerous"}, {"id": 7, "name": "Calcification"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]},
                        {"id": 2, "image_id": 1, "category_id": 7, "bbox": [1, 1, 5, 5]},
                        {"id": 3, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5]}],
    }
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(document))
    count = len(list_annotations(include_history=True, engine=project.engine))
    with pytest.raises(LabelImportError, match=r"1 image\(s\) not in this project \(1.2.3.999\).*Calcification"):
        import_labels(path, engine=project.engine)
    assert len(list_annotations(include_history=True, engine=project.engine)) == count
    assert main(["labels", "import", str(path)]) == 2
    report = import_labels(path, annotator="radiology-2019", skip_unknown=True, engine=project.engine)
    assert (report.annotations, report.regions) == (1, 1)
    imported = list_annotations(annotator="radiology-2019", engine=project.engine)
    assert imported[0].image_id == image.id  # matched by the file name's stem
    assert imported[0].regions[0].bbox == [1.0, 1.0, 5.0, 5.0]


def test_split_is_by_patient(project, make_demo, tmp_path: Path) -> None:

    make_demo(60)
    out = tmp_path / "export"
    assert main(["export", "--format", "csv,seg", "--out", str(out), "--split", "60,20,20"]) == 0
    rows = list(csv.DictReader(open(out / "labels.csv")))
    splits_of: dict[str, set[str]] = {}
    for row in rows:
        splits_of.setdefault(row["patient_key"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits_of.values())
    card = json.loads((out / "dataset_card.json").read_text())
    images = card["counts"]["images"]
    assert sum(images.values()) == 60 and all(images[s] > 0 for s in ("train", "val", "test"))
    assert images["train"] > images["val"]
    # Mammograms are projection images (pixel spacing, no slice thickness): their SEGs are written
    # without Pixel Measures and read back like the CT ones.
    modalities = {row["modality"] for row in rows}
    with_regions = {(row["image_file"], row["annotator"]) for row in rows if int(row["regions"])}
    assert "MG" in modalities and with_regions
    assert card["files"]["seg"]["skipped"] == [] and card["files"]["seg"]["written"] == len(with_regions)
    assert {pydicom.dcmread(p).Modality for p in (out / "dicom").glob("*.dcm")} >= {"MG", "CT"}


def test_burned_in_left_out_only_when_deidentifying(project, labeled: list[Path], tmp_path: Path) -> None:
    plain = export_dataset(tmp_path / "plain", ExportOptions(["csv"]), project=project)
    deid = export_dataset(tmp_path / "deid", ExportOptions(["csv"], deidentify=True), project=project)
    assert plain.images == len(labeled) and not plain.card["left_out"]
    assert deid.images == len(labeled) - 2 and len(deid.card["left_out"]) == 2
    assert deid.card["deidentified"] and deid.card["deidentification"]["private_tags"] == "removed"


def test_export_refuses_a_folder_in_use_and_an_empty_selection(project, labeled: list[Path], tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "something.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not an empty folder"):
        export_dataset(used, ExportOptions(["coco"]), project=project)
    with pytest.raises(ExportError, match="No labeled image"):
        export_dataset(tmp_path / "none", ExportOptions(["coco"], annotator="nobody"), project=project)
    assert main(["export", "--format", "pdf", "--out", str(tmp_path / "x")]) == 2
    assert main(["export", "--format", "csv", "--out", str(tmp_path / "late"),
                 "--since", (dt.date.today() + dt.timedelta(days=2)).isoformat()]) == 2


def test_seg_of_an_enhanced_multiframe_source_holds_each_labeled_frame(project, tmp_path: Path) -> None:
    from tests.support.dicom_files import enhanced_ct

    enhanced_ct(tmp_path / "enhanced.dcm", frames=3)
    import_paths([str(tmp_path / "enhanced.dcm")], project=project)
    images = list_images(engine=project.engine)
    for image in images[::2]:  # frames 0 and 2; frame 1 stays unlabeled
        right = 10.0 + 5 * image.frame
        save_annotation(image.id, "alice", [RegionInput("Cancerous", "rect", [[2, 2], [right, 2], [right, 9], [2, 9]])],
                        engine=project.engine)
    report = export_dataset(tmp_path / "out", ExportOptions(["seg"], deidentify=True), project=project)
    assert report.card["files"]["seg"] == {"written": 1, "sources": 1, "skipped": []}
    seg = hd.seg.segread(next((tmp_path / "out" / "seg").glob("*.dcm")))
    source = pydicom.dcmread(next((tmp_path / "out" / "dicom").glob("*.dcm")))
    masks = seg.get_pixels_by_source_frame(source.SOPInstanceUID, [1, 2, 3], segment_numbers=[1],
                                           assert_missing_frames_are_empty=True)[..., 0]
    assert [int(m.sum()) for m in masks] == [int(region_mask([[2, 2], [r, 2], [r, 9], [2, 9]], 32, 48).sum())
                                             if r else 0 for r in (10.0, None, 20.0)]


def test_the_card_names_the_model_active_at_export(project, labeled: list[Path], tmp_path: Path) -> None:
    from sqlmodel import Session

    from storage import ModelVersion

    assert main(["export", "--format", "csv", "--out", str(tmp_path / "before")]) == 0
    assert json.loads((tmp_path / "before" / "dataset_card.json").read_text())["model_version_at_export"] is None
    assert (tmp_path / "before").stat().st_mode & 0o777 == 0o700  # an export is its owner's alone
    with Session(project.engine) as session:
        session.add(ModelVersion(checkpoint_path="v.pt", label_count=12, metrics={"auc": 0.9}, config={}, active=True))
        session.commit()
    assert main(["export", "--format", "csv", "--out", str(tmp_path / "after")]) == 0
    model = json.loads((tmp_path / "after" / "dataset_card.json").read_text())["model_version_at_export"]
    assert model["id"] == 1 and model["label_count"] == 12 and model["metrics"] == {"auc": 0.9}


def test_deidentification_drops_overlay_text_curves_and_the_sources_file_meta() -> None:
    from labeling.export.deid import Deidentifier

    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.add_new(0x60000022, "LO", "Jane Doe follow-up")  # Overlay Description
    ds.add_new(0x60001500, "LO", "JD 12345")  # Overlay Label
    ds.add_new(0x50000022, "LO", "Jane Doe curve")  # a retired curve group
    ds.file_meta.SourceApplicationEntityTitle = "JANEDOE-WS"
    ds.file_meta.ImplementationVersionName = "ST_JUDE_PACS_4"
    original_uid = ds.SOPInstanceUID
    out = Deidentifier(b"secret" * 8).apply(ds, "P0123456789AB")
    assert not [element for element in out if element.tag.group in (0x5000, 0x6000)]
    assert "SourceApplicationEntityTitle" not in out.file_meta
    assert out.file_meta.ImplementationVersionName.startswith("MEDAL_")
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID != original_uid


def test_annotators_whose_names_slug_alike_keep_their_own_files(project, tmp_path: Path) -> None:
    import_paths([str(pydicom_file("CT_small.dcm"))], project=project)
    (image,) = list_images(engine=project.engine)
    for name, corner in (("Jo Smith", 5.0), ("Jo-Smith", 30.0)):
        box = [[corner, corner], [corner + 10, corner], [corner + 10, corner + 10], [corner, corner + 10]]
        save_annotation(image.id, name, [RegionInput("Cancerous", "rect", box)], engine=project.engine)
    export_dataset(tmp_path / "out", ExportOptions(["masks", "seg"]), project=project)
    with open(tmp_path / "out" / "manifest.csv") as handle:
        masks = {row["annotator"]: row["mask_file"] for row in csv.DictReader(handle)}
    assert len(set(masks.values())) == 2  # one silently overwrote the other before
    drawn = {name: np.asarray(PILImage.open(tmp_path / "out" / path)) for name, path in masks.items()}
    assert drawn["Jo Smith"][8, 8] and not drawn["Jo Smith"][33, 33]
    assert drawn["Jo-Smith"][33, 33] and not drawn["Jo-Smith"][8, 8]
    assert len(list((tmp_path / "out" / "seg").glob("*.dcm"))) == 2


def test_pseudonymised_annotators_leave_no_name_in_the_export(project, tmp_path: Path) -> None:
    import_paths([str(pydicom_file("CT_small.dcm"))], project=project)
    (image,) = list_images(engine=project.engine)
    save_annotation(image.id, "Dr Jane Roe", [RegionInput("Cancerous", "rect", BOX)], image_label="cancerous",
                    engine=project.engine)
    assert main(["export", "--format", "all", "--out", str(tmp_path / "out"), "--deidentify",
                 "--pseudonymise-annotators", "--annotator", "Dr Jane Roe"]) == 0
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files and not [p for p in files if b"Jane" in p.read_bytes() or "Jane" in p.name]
    coco = json.loads((tmp_path / "out" / "coco.json").read_text())
    (pseudonym,) = {a["attributes"]["annotator"] for a in coco["annotations"]}
    card = json.loads((tmp_path / "out" / "dataset_card.json").read_text())
    assert pseudonym.startswith("annotator-") and card["annotators"][0]["name"] == pseudonym
