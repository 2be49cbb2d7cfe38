"""Medal storage: SQLModel tables, the engine, migrations and the files derived under $MEDAL_HOME."""

from __future__ import annotations

# ``config`` is bound at once: its module is light, and it shares the module's name (a name bound on first
# use would be hidden by the module once that is imported). ``lazy_face`` builds every room's face.
from storage.config import config as config
from storage.faces import lazy_face as lazy_face

# The face: each name other rooms use, by the module that holds it (``storage.faces``: imported on first use).
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
    "patient_key": ("fix_patient_key_secret", "move_patient_key_out", "patient_key_secret"),
    "project": ("Project", "configured_database_url", "current_project"),
}
__all__, __getattr__, _HOME = lazy_face(__name__, _FACE, eager=("config", "lazy_face"))
