"""The export writers: COCO, PNG masks, DICOM SEG, CSV, the dataset card, de-identification and label import."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "downloads": ("download_zip",),
    "label_import": ("import_labels",),
    "retention": ("delete_export", "export_card", "list_exports", "sweep_zips"),
    "run": ("ExportOptions", "FORMATS", "export_dataset", "new_export_folder"),
    "selection": ("READINGS", "READING_NAMES", "ExportError"),
    "stow": ("stow_segs",),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
