"""Every ``MEDAL_*`` setting, read from the environment and validated in one place.

The README's "Settings" table documents each one. Nothing else in Medal reads ``MEDAL_*`` from the
environment: code that works on another project (a benchmark, the simulation of a project) opens a
:class:`storage.db.Project` for it and passes that down instead of changing the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from storage.errors import MedalError

WORKER_MODES = ("auto", "off")
_WORKER_OFF = ("off", "0", "no", "external")


class InvalidConfig(MedalError):
    """A ``MEDAL_*`` environment variable with a value Medal cannot use."""


@dataclass(frozen=True)
class Secret:
    """A password or token: its value is read where it is used (``reveal()``), never printed, logged or shown."""

    value: str = field(repr=False)

    def reveal(self) -> str:
        return self.value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __str__(self) -> str:
        return "***" if self.value else ""


@dataclass(frozen=True)
class Config:
    """The process's settings, as the environment gives them."""

    home: Path  # MEDAL_HOME: the project folder (database, cache, uploads, models, demo data)
    database_url: str  # MEDAL_DATABASE_URL: any SQLAlchemy URL; SQLite in the home when empty
    lease_minutes: float = 15.0  # MEDAL_LEASE_MINUTES: how long an image stays leased to its annotator
    heartbeat_timeout_s: float = 30.0  # MEDAL_HEARTBEAT_TIMEOUT_S: a running job silent this long is failed
    worker: str = "auto"  # MEDAL_WORKER: "off" and the app starts no worker of its own
    user: str = "demo"  # MEDAL_USER: the account `medal next` works for when --user is not given
    session_idle_minutes: float = 30.0  # MEDAL_SESSION_IDLE_MINUTES: a browser session idle this long is logged out
    max_file_mb: float = 2048.0  # MEDAL_MAX_FILE_MB: the largest file (or archive member) an import takes
    max_megapixels: float = 40.0  # MEDAL_MAX_MEGAPIXELS: the largest frame (any format) an import decodes
    import_folders: tuple[Path, ...] = ()  # MEDAL_IMPORT_FOLDERS: server folders admins may import from
    patient_key_file: Path | None = None  # MEDAL_PATIENT_KEY_FILE: the patient-key secret, outside the database
    # MEDAL_TRUSTED_PROXIES: addresses or networks (comma-separated) of the reverse proxies whose
    # X-Forwarded-For Medal believes; from anywhere else the connecting address is the client's
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    upload_session_mb: float = 1024.0  # MEDAL_UPLOAD_SESSION_MB: what one tab's uploads may hold in memory at once
    upload_total_mb: float = 2048.0  # MEDAL_UPLOAD_TOTAL_MB: what every tab's uploads together may hold
    # The PACS's DICOMweb service (medal import --dicomweb, medal export --stow): a bearer token, or a user and
    # password (HTTP basic), each from MEDAL_DICOMWEB_<NAME> or the file MEDAL_DICOMWEB_<NAME>_FILE names
    dicomweb_url: str = ""  # MEDAL_DICOMWEB_URL: the PACS the Import and Export pages reach (the CLI takes any)
    dicomweb_user: str = ""  # MEDAL_DICOMWEB_USER
    dicomweb_password: Secret = Secret("")  # MEDAL_DICOMWEB_PASSWORD(_FILE)
    dicomweb_token: Secret = Secret("")  # MEDAL_DICOMWEB_TOKEN(_FILE)
    # Single sign-on (Streamlit's st.login, configured in .streamlit/secrets.toml's [auth] section)
    password_login: bool = True  # MEDAL_PASSWORD_LOGIN: "off" and only single sign-on logs in
    sso_name_claim: str = "email"  # MEDAL_SSO_NAME_CLAIM: the identity's claim that names its Medal account
    sso_role_claim: str = "groups"  # MEDAL_SSO_ROLE_CLAIM: the claim listing the identity's groups
    # MEDAL_SSO_ROLES: "group=role" pairs separated by ";" (a group may hold "=" and ","): a member of a group
    # signs in with its role (the most rights of all its groups), an account made on first sign-in if needed
    sso_roles: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Config:
        """The settings in ``environ``; a bad value raises :class:`InvalidConfig` naming the variable."""
        home = Path(environ.get("MEDAL_HOME", "medal-data") or "medal-data").expanduser().resolve()
        url = environ.get("MEDAL_DATABASE_URL", "").strip() or f"sqlite:///{home / 'medal.db'}"
        worker = environ.get("MEDAL_WORKER", "auto").strip().lower() or "auto"
        return cls(
            home=home,
            database_url=url,
            lease_minutes=_positive(environ, "MEDAL_LEASE_MINUTES", cls.lease_minutes),
            heartbeat_timeout_s=_positive(environ, "MEDAL_HEARTBEAT_TIMEOUT_S", cls.heartbeat_timeout_s),
            worker="off" if worker in _WORKER_OFF else _choice("MEDAL_WORKER", worker, WORKER_MODES),
            user=environ.get("MEDAL_USER", "").strip() or cls.user,
            session_idle_minutes=_positive(environ, "MEDAL_SESSION_IDLE_MINUTES", cls.session_idle_minutes),
            max_file_mb=_positive(environ, "MEDAL_MAX_FILE_MB", cls.max_file_mb),
            max_megapixels=_positive(environ, "MEDAL_MAX_MEGAPIXELS", cls.max_megapixels),
            import_folders=tuple(Path(part).expanduser().resolve()
                                 for part in environ.get("MEDAL_IMPORT_FOLDERS", "").split(os.pathsep) if part.strip()),
            patient_key_file=Path(key_file).expanduser().resolve() if (key_file := environ.get(
                "MEDAL_PATIENT_KEY_FILE", "").strip()) else None,
            trusted_proxies=_networks(environ, "MEDAL_TRUSTED_PROXIES"),
            upload_session_mb=_positive(environ, "MEDAL_UPLOAD_SESSION_MB", cls.upload_session_mb),
            upload_total_mb=_positive(environ, "MEDAL_UPLOAD_TOTAL_MB", cls.upload_total_mb),
            dicomweb_url=environ.get("MEDAL_DICOMWEB_URL", "").strip(),
            dicomweb_user=environ.get("MEDAL_DICOMWEB_USER", "").strip(),
            dicomweb_password=_secret(environ, "MEDAL_DICOMWEB_PASSWORD"),
            dicomweb_token=_secret(environ, "MEDAL_DICOMWEB_TOKEN"),
            password_login=_switch(environ, "MEDAL_PASSWORD_LOGIN", cls.password_login),
            sso_name_claim=environ.get("MEDAL_SSO_NAME_CLAIM", "").strip() or cls.sso_name_claim,
            sso_role_claim=environ.get("MEDAL_SSO_ROLE_CLAIM", "").strip() or cls.sso_role_claim,
            sso_roles=_group_roles(environ, "MEDAL_SSO_ROLES"),
        )


def config() -> Config:
    """The settings of this process (read on each call, so a test's changed environment is seen)."""
    return Config.from_environ(os.environ)


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError as error:
        raise InvalidConfig(f"{name}={value!r} is not a number; unset it or give a positive number.") from error
    if not number > 0:
        raise InvalidConfig(f"{name}={value!r} must be a positive number.")
    return number


def _secret(environ: Mapping[str, str], name: str) -> Secret:
    """``name``'s value, or the content of the file ``name``_FILE names (its last line break dropped)."""
    value, file = environ.get(name, ""), environ.get(f"{name}_FILE", "").strip()
    if value and file:
        raise InvalidConfig(f"Both {name} and {name}_FILE are set; keep one.")
    if not file:
        return Secret(value.strip())
    try:
        return Secret(Path(file).expanduser().read_text(encoding="utf-8").strip())
    except OSError as error:
        raise InvalidConfig(f"{name}_FILE={file!r} cannot be read ({error.strerror}); give a readable file.") from error


def _networks(environ: Mapping[str, str], name: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated addresses or networks (``10.0.0.5``, ``10.0.0.0/24``, ``::1``)."""
    networks = []
    for part in environ.get(name, "").split(","):
        if part.strip():
            try:
                networks.append(ip_network(part.strip(), strict=False))
            except ValueError as error:
                raise InvalidConfig(f"{name}: {part.strip()!r} is not an IP address or network; give addresses "
                                    f"like 10.0.0.5 or 10.0.0.0/24, separated by commas.") from error
    return tuple(networks)


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidConfig(f"{name}={value!r} is not one of {', '.join(choices)}.")
    return value


SSO_ROLE_NAMES = ("annotator", "reviewer", "scientist", "admin")  # storage.models.Role's values, fewest rights first
_ON, _OFF = ("on", "1", "yes", "true"), ("off", "0", "no", "false")


def _switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in _ON + _OFF:
        raise InvalidConfig(f"{name}={value!r} is neither on nor off; give on or off.")
    return value in _ON


def _group_roles(environ: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    """``group=role`` pairs separated by ``;``; the role is after the last ``=``."""
    pairs = []
    for part in environ.get(name, "").split(";"):
        if not part.strip():
            continue
        group, _, role = part.strip().rpartition("=")
        if not group.strip() or role.strip().lower() not in SSO_ROLE_NAMES:
            raise InvalidConfig(f"{name}: {part.strip()!r} is not group=role; give pairs like radiology=annotator "
                                f"separated by ';', each role one of {', '.join(SSO_ROLE_NAMES)}.")
        pairs.append((group.strip(), role.strip().lower()))
    return tuple(pairs)
