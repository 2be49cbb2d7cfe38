"""Medal learner: the CNN, training from labels, query strategies, scoring and the worker."""

from __future__ import annotations

import importlib
from typing import Any

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only (the UI's
# imports never reach torch); a module listed under its own name is the module itself, used as a namespace
# (``from learner import registry``, then ``registry.load_active(...)``).
_FACE = {
    "calibration": ("softmax_positive",),
    "dataset": ("PoolDataset",),
    "jobs": ("ACTIVE", "FINISHED", "JobStatus", "JobView", "cancel", "enqueue", "get_job", "list_jobs", "pending",
             "request"),
    "loop": ("PROJECT_CONFIG", "train_and_publish"),
    "predictions": ("prediction_rows",),
    "registry": ("registry", "activate", "active_metrics", "active_summary", "active_version", "diagnostics", "history",
                 "list_versions", "prediction_for", "version_json"),
    "scoring": ("scoring", "pool_classifier"),
    "settings": ("auto_retrain_every", "set_auto_retrain_every", "set_strategy", "strategy"),
    "strategies": ("DEFAULT", "STRATEGIES", "resolve"),
    "supervisor": ("ensure_worker", "worker_running"),
    "train": ("DEVICE", "TooFewLabels", "TrainConfig", "binary_metrics", "fit", "predict_logits", "predict_proba",
              "to_device"),
    "worker": ("run_worker",),
}
_HOME = {name: module for module, names in _FACE.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    return module if name == _HOME[name] else getattr(module, name)
