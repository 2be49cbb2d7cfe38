"""``medal bench ct-as-dicom SRC OUT``: CT slices kept as 16-bit PNGs, written as the CT DICOM they came from.

Research sets ship CT slices as 16-bit PNGs holding HU plus an offset (real-lesions: HU + 1024; DeepLesion:
HU + 32768). A PNG has no units, so Medal shows it over its 0.5–99.5 percentile range, air to bone, where a
soft-tissue lesion and the muscle around it are a grey level or two apart — for the reader and for the model,
which learns from the picture as shown. A hospital's CT arrives as DICOM in HU, and one whose file gives no
window opens in a soft-tissue window (``labeling.dicom.display.CT_DEFAULT_WINDOW``). This writes a labeled
folder's CT slices that way — HU through the rescale, no window in the file, one study per patient — with the
same truth beside them, so that ``medal bench real OUT`` measures the model on CT as Medal opens it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from benchmarks.real import TRUTH_FILE, load_truth, modality_of, of_modality
from benchmarks.ultrasound import FolderNotEmpty
from labeling.intake import SeriesPlace, SyntheticPatient, uid, write_ct_slice

STUDY_DATE = date(2020, 1, 1)


def write_ct_as_dicom(source: Path, out: Path, *, hu_offset: float = 1024.0, modality: str = "CT",
                      keep_others: bool = False) -> dict[str, Any]:
    """Each image of ``source``'s truth whose ``modality`` is ``modality`` (every image where the truth names
    none), a 16-bit grey PNG/TIFF of HU + ``hu_offset``, as ``OUT/images/<name>.dcm`` (CT, 12-bit, HU rescale,
    no window; HU beyond −1024…3071 clipped), and ``OUT/truth.json`` with the same entries (their masks read from
    ``source``); with ``keep_others``, the truth's other images too, as they are (read where they lie), so that
    OUT is the whole set with its CT as a hospital's. ``out`` must be new or empty (:class:`FolderNotEmpty`).
    Returns how many were written and kept, and what was left out, with the reason."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FolderNotEmpty(f"{out} already exists and is not an empty folder: give a new or empty folder.")
    truth = load_truth(source.resolve())
    named = any("modality" in entry for entry in truth.entries.values())
    entries = of_modality(truth.entries, modality) if named else truth.entries
    (out / "images").mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, Any]] = {}
    left_out: list[str] = []
    places: dict[str, SeriesPlace] = {}
    for name, entry in sorted(entries.items()):
        try:
            with PILImage.open(truth.folder / entry.get("image", name)) as picture:
                values = np.asarray(picture)
        except (OSError, ValueError) as error:  # PIL's UnidentifiedImageError is an OSError
            left_out.append(f"{name}: not a PNG or TIFF picture PIL can read ({str(error).splitlines()[0]})")
            continue
        if values.ndim != 2 or values.dtype.itemsize < 2:
            left_out.append(f"{name}: not a 16-bit grey picture, so not HU + an offset")
            continue
        patient = str(entry.get("patient") or Path(name).stem)
        place = places.setdefault(patient, SeriesPlace(SyntheticPatient(patient, patient), STUDY_DATE,
                                                       uid("study", patient), uid("series", patient),
                                                       uid("frame", patient)))
        spacing = entry.get("pixel_spacing_mm") or [1.0, 1.0]
        target = f"images/{Path(name).stem}.dcm"
        write_ct_slice(out / target, values.astype(np.float32) - hu_offset, place,
                       index=int(entry.get("slice_index", len(written))), sop_uid=uid("slice", patient, name),
                       spacing=float(spacing[0]), thickness=float(entry.get("slice_thickness_mm") or 1.0),
                       description=str(modality_of(entry)), windows=False)
        written[Path(target).name] = _masks_where_they_lie(dict(entry, image=target), truth.folder)
    kept = 0
    if keep_others and named:
        for name, entry in sorted(truth.entries.items()):
            if name not in entries:
                image = str((truth.folder / entry.get("image", name)).resolve())
                written[name] = _masks_where_they_lie(dict(entry, image=image), truth.folder)
                kept += 1
    (out / TRUTH_FILE).write_text(json.dumps(written, indent=1))
    return {"images": len(written) - kept, "kept": kept, "left_out": left_out}


def _masks_where_they_lie(entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``entry`` with its ``mask``/``masks`` as absolute paths of the files in ``folder`` (the source's truth)."""
    for key in ("mask", "masks"):
        if key in entry:
            files = [entry[key]] if key == "mask" else entry[key]
            found = [str((folder / file).resolve()) for file in files]
            entry[key] = found[0] if key == "mask" else found
    return entry
