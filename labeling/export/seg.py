"""The DICOM SEG export: one Segmentation per labeled source instance and annotator, written with
highdicom and read back with ``highdicom.seg.segread`` before it counts as written.

Each SEG has one segment per class of the taxonomy (segment number = the class index of the masks
export) with the class's SNOMED codes, and sits next to a copy of its source under ``dicom/`` (the
de-identified copy when the export is de-identified, so the SEG references the new UIDs). A source
the SEG IOD cannot reference (no Frame of Reference UID, no pixel spacing, not DICOM) gets a
one-line reason in the dataset card instead of a file; its labels are in the other formats.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from highdicom.sr.coding import CodedConcept
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from labeling.dicom import PARSE_ERRORS, Source, transfer_syntax_of
from labeling.export.context import ExportContext
from labeling.export.selection import ExportImage
from labeling.labels import region_mask

# Type 2 attributes of the Patient and General Study modules that highdicom copies into the SEG:
# sources that lack them get them empty (which the IOD allows) instead of a refused SEG.
TYPE_2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
          "ReferringPhysicianName", "StudyID", "AccessionNumber")
DEID_ATTRIBUTES = ("PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence",
                   "LongitudinalTemporalInformationModified")


@dataclass
class SegResult:
    written: list[str] = field(default_factory=list)  # SEG files within the export
    sources: list[str] = field(default_factory=list)  # source copies within the export
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"image", "reason"}


def segment_descriptions(context: ExportContext) -> list[hd.seg.SegmentDescription]:
    return [hd.seg.SegmentDescription(
        segment_number=number, segment_label=c.name[:64],
        segmented_property_category=CodedConcept(c.category_code, c.coding_scheme, c.category_meaning),
        segmented_property_type=CodedConcept(c.type_code or "", c.coding_scheme, c.type_meaning),
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL) for number, c in enumerate(context.classes, 1)]


def why_not_referenceable(dataset: Dataset) -> str | None:
    """Why a SEG cannot be made for this source (None when it can)."""
    if "FrameOfReferenceUID" not in dataset:
        return ("the source has no Frame of Reference UID, which the SEG IOD requires (common for projection "
                "radiographs and secondary captures); its regions are in the COCO and masks exports")
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1 and "PerFrameFunctionalGroupsSequence" not in dataset:
        return (f"a {frames}-frame source without per-frame functional groups (not an enhanced image), whose "
                "frames a SEG cannot reference; its regions are in the COCO and masks exports")
    return None


def as_seg_source(dataset: Dataset) -> Dataset:
    """What highdicom is given: a projection image (pixel spacing but no slice thickness, e.g. MG, DX)
    would get Pixel Measures without SliceThickness, which ``segread`` then refuses; such a SEG is
    written without Pixel Measures instead (its referenced source keeps the spacing)."""
    if "PerFrameFunctionalGroupsSequence" in dataset or "SliceThickness" in dataset or "PixelSpacing" not in dataset:
        return dataset
    view = copy.deepcopy(dataset)
    del view.PixelSpacing
    return view


def read_source(item: ExportImage) -> Dataset:
    return pydicom.dcmread(Source.parse(item.image.path).for_pydicom(), force=True)


def write_seg(context: ExportContext, items: list[ExportImage],
              tick: Callable[[int], None] | None = None) -> SegResult:
    """Write ``dicom/<stem>.dcm`` (sources) and ``seg/<stem>.<annotator>.dcm``; report what was skipped."""
    result = SegResult()
    by_instance: dict[str, list[ExportImage]] = defaultdict(list)
    for item in items:
        if not item.is_dicom or not item.image.sop_instance_uid:
            result.skipped.append({"image": item.stem, "reason": "not a DICOM image: nothing for a SEG to reference"})
        elif any(annotation.regions for annotation in item.annotations):
            by_instance[item.image.sop_instance_uid].append(item)
    descriptions = segment_descriptions(context)
    for group in by_instance.values():
        if tick:
            tick(len(group))
        first = group[0]
        try:
            source = read_source(first)
        except PARSE_ERRORS as error:
            result.skipped.append({"image": first.stem, "reason": f"the source cannot be read again: {error}"})
            continue
        reason = why_not_referenceable(source)
        if reason:
            result.skipped += [{"image": item.stem, "reason": reason} for item in group]
            continue
        if context.deidentifier:
            context.deidentifier.apply(source, first.patient_key)
        for keyword in TYPE_2:
            if keyword not in source:
                setattr(source, keyword, None)
        annotators = sorted({a.annotator for item in group for a in item.annotations if a.regions})
        before = len(result.written)
        for annotator in annotators:
            name = f"seg/{first.stem}.{context.annotator_tag(annotator)}.dcm"
            problem = _write_one(context, source, group, annotator, descriptions, context.out / name)
            if problem:
                result.skipped.append({"image": first.stem, "reason": problem})
            else:
                result.written.append(name)
        if len(result.written) > before:
            source_name = f"dicom/{first.stem}.dcm"
            _save(source, context.out / source_name)
            result.sources.append(source_name)
    return result


def _masks(context: ExportContext, source: Dataset, group: list[ExportImage], annotator: str) -> np.ndarray:
    frames = int(source.get("NumberOfFrames", 1) or 1)
    rows, cols = int(source.Rows), int(source.Columns)
    masks = np.zeros((frames, rows, cols, len(context.classes)), bool)
    for item in group:
        for annotation in item.annotations:
            if annotation.annotator != annotator:
                continue
            for region in annotation.regions:
                segment = context.class_index(region.label) - 1
                masks[item.image.frame, :, :, segment] |= region_mask(region.points, rows, cols)
    return masks


def _write_one(context: ExportContext, source: Dataset, group: list[ExportImage], annotator: str,
               descriptions: list[hd.seg.SegmentDescription], path: Path) -> str | None:
    """Write and read back one SEG; a one-line reason when highdicom refuses it or it reads back wrong."""
    masks = _masks(context, source, group, annotator)
    series_uid, instance_uid = seg_uids(context, source, group, annotator)
    try:
        seg = hd.seg.Segmentation(
            source_images=[as_seg_source(source)], pixel_array=masks, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions, series_instance_uid=series_uid, series_number=900,
            sop_instance_uid=instance_uid, instance_number=1, manufacturer="Medal",
            manufacturer_model_name="Medal", software_versions=version("medal-labeling"),
            device_serial_number="medal", series_description=f"Medal labels ({annotator})"[:64]
            if not context.deidentifier else "Medal labels")
    except (ValueError, TypeError, AttributeError) as error:
        return f"highdicom refused a SEG for this source: {error}"
    if "ImageOrientationPatient" not in source:  # General Image: Type 2C without a plane (projection images)
        seg.PatientOrientation = copy.deepcopy(source.get("PatientOrientation", ""))
    if context.deidentifier:
        for keyword in DEID_ATTRIBUTES:
            setattr(seg, keyword, copy.deepcopy(source.get(keyword)))
    else:
        seg.ContentCreatorName = f"{annotator}^"
    path.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(path)
    return _check(path, source, masks)


def seg_uids(context: ExportContext, source: Dataset, group: list[ExportImage], annotator: str) -> tuple[str, str]:
    """The SEG's Series and SOP Instance UIDs. Keeping identities (the export a PACS gets back, ``medal export
    --stow``): derived from the source's study and instance, the reader and the versions of the reading, so the
    same reading sent twice is the same object (a PACS replaces it, never duplicates it) and an edited reading a
    new one, in one series per reader and study. De-identified: new random UIDs, linked to nothing."""
    if context.deidentifier:
        return hd.UID(), hd.UID()
    versions = sorted(str(annotation.id) for item in group for annotation in item.annotations
                      if annotation.annotator == annotator)
    series = generate_uid(entropy_srcs=["medal-seg-series", str(source.StudyInstanceUID), annotator])
    return series, generate_uid(entropy_srcs=["medal-seg", str(source.SOPInstanceUID), annotator, *versions])


def _check(path: Path, source: Dataset, masks: np.ndarray) -> str | None:
    """Read the SEG back with ``segread``: every drawn mask must come back (else the file is removed)."""
    try:
        back = hd.seg.segread(path)
        segments = list(range(1, masks.shape[-1] + 1))
        if masks.shape[0] == 1:
            read = back.get_pixels_by_source_instance([source.SOPInstanceUID], segment_numbers=segments,
                                                      assert_missing_frames_are_empty=True)
        else:
            read = back.get_pixels_by_source_frame(source.SOPInstanceUID, list(range(1, masks.shape[0] + 1)),
                                                   segment_numbers=segments, assert_missing_frames_are_empty=True)
        same = np.array_equal(read.astype(bool), masks)
    except (ValueError, KeyError, AttributeError, IndexError) as error:
        same, reason = False, f"the SEG did not read back with segread: {error}"
    else:
        reason = "the SEG read back with different masks"
    if same:
        return None
    path.unlink(missing_ok=True)
    return reason


def _save(dataset: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dataset.get("file_meta") or Dataset()
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = transfer_syntax_of(dataset)
    dataset.file_meta = meta
    dataset.save_as(path, enforce_file_format=True)
