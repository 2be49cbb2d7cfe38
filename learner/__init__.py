"""Medal learner: the CNN, training from labels, query strategies, scoring and the worker."""

from __future__ import annotations

from storage import lazy_face

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only (the UI's
# imports never reach torch); a module listed under its own name is the module itself, used as a namespace
# (``from learner import registry``, then ``registry.load_active(...)``).
_FACE = {
    "calibration": ("softmax_positive",),
    "dataset": ("PoolDataset",),
    "export_job": ("export_in_background", "queue_export"),
    "jobs": ("ACTIVE", "FINISHED", "JobStatus", "JobView", "cancel", "enqueue", "get_job", "list_jobs", "pending",
             "request"),
    "loop": ("PROJECT_CONFIG", "train_and_publish"),
    "model": ("CompactCNN",),
    "predictions": ("prediction_rows", "with_outlines"),
    "pretrain": ("PRETRAINED_FEATURE_LR", "contrastive_pretrain", "pretrain_project"),
    "registry": ("registry", "activate", "active_metrics", "active_summary", "active_version", "diagnostics", "history",
                 "list_versions", "prediction_for", "version_json"),
    "scoring": ("scoring", "pool_classifier"),
    "settings": ("auto_retrain_every", "set_auto_retrain_every", "set_strategy", "strategy"),
    "strategies": ("DEFAULT", "STRATEGIES", "resolve"),
    "supervisor": ("ensure_worker", "worker_running"),
    "train": ("DEVICE", "TooFewLabels", "TrainConfig", "binary_metrics", "fit", "predict_logits", "predict_proba",
              "to_device"),
    "worker": ("check_gpu_worker", "run_worker"),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE)
