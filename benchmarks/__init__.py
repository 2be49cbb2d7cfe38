"""Benchmarks and simulations that print numbers (``medal bench …``, ``medal simulate``): they build their
own projects with the product's own code and measure it. The top floor of the library: nothing in
``storage``, ``labeling`` or ``learner`` imports them; only the CLI (and tests) do."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
_FACE = {
    "calibration": ("bench_calibration",),
    "ct_dicom": ("write_ct_as_dicom",),
    "ingest": ("bench_ingest", "bench_next"),
    "localise": ("bench_localise",),
    "loop": ("bench_loop",),
    "outline": ("bench_outline",),
    "pacs": ("bench_dicomweb", "bench_stow"),
    "real": ("bench_real", "format_report"),
    "simulate": ("simulate",),
    "ultrasound": ("write_ultrasound_set",),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
