"""Medal storage: SQLModel tables, the engine, migrations and the files derived under $MEDAL_HOME."""

from __future__ import annotations

import importlib
from typing import Any

# ``config`` is bound at once: its module is light, and it shares the module's name (a name bound on first
# use would be hidden by the module once that is imported).
from storage.config import config as config

# The face: each name other rooms use, by the module that holds it. A name is imported on first use (PEP 562,
# ``__getattr__`` below), so importing the room costs nothing and a name costs its own module only; a module
# listed under its own name is the module itself, used as a namespace.
_FACE = {
    "db": ("get_engine", "storage_full_on_refused_writes", "write_session"),
    "errors": ("ImageNotFound", "InvalidDicom", "InvalidWindow", "MedalError", "SourceMissing", "StorageFull",
               "UnsupportedFile", "about_image", "disk_full_as", "first_line", "is_disk_full"),
    "files": ("make_private", "private_folder"),
    "hierarchy": ("up_to_patient",),
    "migrate": ("current_revision", "head_revision", "upgrade_to_head"),
    "models": ("Annotation", "AuditEvent", "BrowserSession", "Image", "ImageStatus", "ImportProblem", "Job",
               "JobStatus", "LabelClass", "LoginAttempt", "ModelVersion", "Patient", "Prediction", "ProjectSetting",
               "Region", "Role", "Series", "SourceKind", "Study", "User", "as_utc", "utcnow"),
    "patient_key": ("move_patient_key_out", "patient_key_secret"),
    "project": ("Project", "configured_database_url", "current_project"),
}
_HOME = {name: module for module, names in _FACE.items() for name in names}
__all__ = sorted([*_HOME, "config"])


def __getattr__(name: str) -> Any:
    """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME[name]}")
    return module if name == _HOME[name] else getattr(module, name)
