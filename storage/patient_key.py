"""The project's patient-key secret, kept in its database (the learning settings are in
``learner.settings``).

The patient-key secret (behind every pseudonymous patient key) is made on first use and kept in the
database, unless the site keeps it in a file of its own (``MEDAL_PATIENT_KEY_FILE``, moved there by
``move_patient_key_out``): then the database only says so, and a copy of the database alone cannot
link patient keys back to Patient IDs.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.config import config
from storage.db import write_session
from storage.errors import MedalError
from storage.models import AuditEvent, ProjectSetting

PATIENT_KEY_SECRET = "patient_key_secret"
SECRET_IN_FILE = "in MEDAL_PATIENT_KEY_FILE"  # the database's value once the secret has moved out


class PatientKeyUnavailable(MedalError):
    """The patient-key secret is kept outside the database and cannot be read, or does not match."""


def patient_key_secret(session: Session) -> bytes:
    """The project's secret behind pseudonymous patient keys, made on first use (inside ``session``), or
    read from ``MEDAL_PATIENT_KEY_FILE`` when the site keeps it there."""
    setting = session.get(ProjectSetting, PATIENT_KEY_SECRET)
    key_file = config().patient_key_file
    if key_file is not None:
        secret = _read_key_file(key_file)
        if setting is not None and setting.value not in (SECRET_IN_FILE, secret.hex()):
            raise PatientKeyUnavailable(
                "MEDAL_PATIENT_KEY_FILE holds another secret than the one this project's patient keys were made"
                " with; `medal secret move-out FILE` moves the project's own secret to a file.")
        if setting is None:  # a new project that starts with its secret outside
            session.add(ProjectSetting(key=PATIENT_KEY_SECRET, value=SECRET_IN_FILE))
            session.flush()
        return secret
    if setting is not None and setting.value == SECRET_IN_FILE:
        raise PatientKeyUnavailable("This project keeps its patient-key secret in a file: set MEDAL_PATIENT_KEY_FILE"
                                    " to that file's path.")
    if setting is None:
        setting = ProjectSetting(key=PATIENT_KEY_SECRET, value=secrets.token_hex(32))
        session.add(setting)
        session.flush()
    return bytes.fromhex(setting.value)


def fix_patient_key_secret(engine: Engine, secret: bytes) -> None:
    """Make a new project's patient keys from ``secret`` (a benchmark's throw-away project: the same keys, hence the
    same patient-level validation split, from run to run). Refused once the project has a secret: keys made with it
    would no longer match their patients."""
    with write_session(engine=engine) as session:
        if session.get(ProjectSetting, PATIENT_KEY_SECRET) is not None:
            raise MedalError("This project already has a patient-key secret; only a new project's can be fixed.")
        session.add(ProjectSetting(key=PATIENT_KEY_SECRET, value=secret.hex()))
        session.commit()


def _read_key_file(path: Path) -> bytes:
    """The secret in ``path`` (64 hex digits); the file must be the server account's alone."""
    try:
        mode = path.stat().st_mode
        text_value = path.read_text().strip()
    except OSError as error:
        raise PatientKeyUnavailable(f"MEDAL_PATIENT_KEY_FILE cannot be read ({error.strerror}).") from error
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PatientKeyUnavailable("MEDAL_PATIENT_KEY_FILE can be read by other accounts; `chmod 600` it.")
    try:
        secret = bytes.fromhex(text_value)
    except ValueError:
        secret = b""
    if len(secret) < 32:
        raise PatientKeyUnavailable("MEDAL_PATIENT_KEY_FILE must hold at least 64 hex digits (a 256-bit secret).")
    return secret


def move_patient_key_out(path: Path, *, engine: Engine) -> Path:
    """Write the project's patient-key secret to a new owner-only file at ``path`` and keep only a marker in
    the database; afterwards every Medal process of the project needs ``MEDAL_PATIENT_KEY_FILE=path``."""
    path = path.expanduser().resolve()
    with write_session(engine=engine) as session:
        setting = session.get(ProjectSetting, PATIENT_KEY_SECRET)
        if setting is not None and setting.value == SECRET_IN_FILE:
            raise PatientKeyUnavailable("The patient-key secret is outside the database already.")
        secret = patient_key_secret(session).hex() if setting is None else setting.value
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise PatientKeyUnavailable(f"Cannot create {path} ({error.strerror}); give a new file's path.") from error
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret + "\n")
        setting = session.get(ProjectSetting, PATIENT_KEY_SECRET)
        setting.value = SECRET_IN_FILE
        session.add(setting)
        session.add(AuditEvent(action="project.patient_key_moved_out", entity="project", detail={}))
        session.commit()
    return path
