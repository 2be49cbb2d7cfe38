"""Issue 22 (13): a de-identified export leaves out what may show identity in its pixels, by the attributes
DICOM PS3.15 names: a CT dose screen (ImageType DERIVED\\SECONDARY\\SCREEN SAVE) and an MR with
RecognizableVisualFeatures YES went through; an XC photograph was left out only by its SOP class prefix.
Real DICOM files (pydicom's), changed as those devices write them, imported and exported de-identified."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from labeling.export import ExportOptions, export_dataset
from labeling.intake import import_paths
from labeling.labels import RegionInput, list_images, save_annotation
from tests.conftest import pydicom_file

BOX = [RegionInput("Cancerous", "rect", [[5, 5], [25, 5], [25, 30], [5, 30]])]


def variant(folder: Path, source: str, name: str, **attributes: object) -> Path:
    ds = pydicom.dcmread(pydicom_file(source))
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    path = folder / f"{name}.dcm"
    ds.save_as(path)
    return path


CASES = {  # name: (source, attributes, the reason's words; None = kept)
    "ct_plain": ("CT_small.dcm", {}, None),
    "ct_dose_screen": ("CT_small.dcm", {"ImageType": ["DERIVED", "SECONDARY", "SCREEN SAVE"]}, "SCREEN SAVE"),
    "ct_dose_report": ("CT_small.dcm", {"ImageType": ["ORIGINAL", "PRIMARY", "DOSE INFO"]}, "DOSE INFO"),
    "ct_screen_no_text": ("CT_small.dcm", {"ImageType": ["DERIVED", "SECONDARY", "SCREEN SAVE"],
                                           "BurnedInAnnotation": "NO"}, None),
    "mr_reformat": ("MR_small.dcm", {}, None),  # DERIVED\SECONDARY\OTHER: a processed series, no text
    "mr_face": ("MR_small.dcm", {"RecognizableVisualFeatures": "YES"}, "RecognizableVisualFeatures"),
    "ct_burned_in": ("CT_small.dcm", {"BurnedInAnnotation": "YES"}, "BurnedInAnnotation is YES"),
    "xc_photo": ("CT_small.dcm", {"Modality": "XC", "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2"},
                 "external-camera"),
    "vl_photo": ("CT_small.dcm", {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.77.1.4"}, "visible-light"),
    # the retired trial VL classes are 77.1 and 77.2 themselves: a prefix "77.1." missed them
    "vl_trial": ("CT_small.dcm", {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.77.1"}, "visible-light"),
    "vl_multiframe_trial": ("CT_small.dcm", {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.77.2"}, "visible-light"),
    "sc_multiframe": ("CT_small.dcm", {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7.2"}, "secondary capture"),
    "us": ("CT_small.dcm", {"Modality": "US"}, "ultrasound"),
}


@pytest.fixture
def exported(project, tmp_path: Path) -> dict[str, str | None]:
    folder = tmp_path / "sources"
    folder.mkdir()
    paths = {name: variant(folder, source, name, **attributes) for name, (source, attributes, _) in CASES.items()}
    import_paths([str(p) for p in paths.values()], project=project)
    for image in list_images(engine=project.engine):
        save_annotation(image.id, "alice", BOX, image_label="cancerous", engine=project.engine)
    report = export_dataset(tmp_path / "out", ExportOptions(["coco"], deidentify=True), project=project)
    card = json.loads((tmp_path / "out" / "dataset_card.json").read_text())
    uid_of = {pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID: name for name, p in paths.items()}
    by_image = {image.id: uid_of[image.sop_instance_uid] for image in list_images(engine=project.engine)}
    left_out = {}
    for item in card["left_out"]:
        image_id = int(next(part for part in item["image"].replace("_", "-").split("-") if part.isdigit()))
        left_out[by_image[image_id]] = item["reason"]
    assert report is not None
    return left_out


def test_what_ps3_15_names_is_left_out_with_its_attribute_and_the_rest_kept(exported) -> None:
    for name, (_, _, words) in CASES.items():
        if words is None:
            assert name not in exported, (name, exported.get(name))
        else:
            assert name in exported and words in exported[name], (name, exported.get(name))


def test_a_png_picture_is_left_out_as_a_picture(project, tmp_path: Path) -> None:
    from PIL import Image as PILImage  # a real picture file, as a camera or a screenshot tool writes it

    picture = tmp_path / "photo.png"
    PILImage.new("RGB", (40, 40), (200, 180, 160)).save(picture)
    ct = variant(tmp_path, "CT_small.dcm", "ct")  # an export needs one image it keeps
    import_paths([str(picture), str(ct)], project=project)
    for image in list_images(engine=project.engine):
        save_annotation(image.id, "alice", BOX, image_label="cancerous", engine=project.engine)
    export_dataset(tmp_path / "out", ExportOptions(["coco"], deidentify=True), project=project)
    card = json.loads((tmp_path / "out" / "dataset_card.json").read_text())
    (png,) = [image for image in list_images(engine=project.engine) if image.sop_instance_uid is None]
    assert [(item["image"], item["reason"]) for item in card["left_out"]] == [
        (f"I{png.id}_{png.id}", "a PNG/JPEG/TIFF picture, whose pixels may hold burned-in text")]
