"""Getting images in: import, uploads, the demo project and the synthetic studies benchmarks share."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "demo": ("create_demo", "demo_folder"),
    "dicomweb": ("DicomwebQuery", "import_dicomweb"),
    "ingest": ("import_paths", "import_problems", "server_folder"),
    "storage_scp": ("listen",),
    "synthetic": ("SeriesPlace", "SyntheticPatient", "uid", "write_ct_slice"),
    "uploads": ("save_uploads",),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
