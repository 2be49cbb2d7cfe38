"""The PACS's DICOMweb service as Medal reaches it: a client with the configured credentials (``MEDAL_DICOMWEB_*``:
a bearer token, else HTTP basic, else none), and one sentence for each way the service can fail. The credentials
are sent, never logged or shown: an error names the service's address without its query, never a header."""

from __future__ import annotations

import re
from typing import Any

import requests
from dicomweb_client import DICOMwebClient

from storage import MedalError, config


class DicomwebUnavailable(MedalError):
    """The DICOMweb service cannot be reached, refuses Medal's credentials, or answers with an error."""


def client_for(url: str) -> DICOMwebClient:
    """A client of the service at ``url`` with the configured credentials: a bearer token, else HTTP basic with
    the user and password, else none."""
    if not re.match(r"^https?://", url.strip(), re.IGNORECASE):
        raise DicomwebUnavailable(f"{url!r} is not a DICOMweb address; give its http:// or https:// URL, such as "
                                  "https://pacs.example.org/dicom-web.")
    settings, session = config(), requests.Session()
    if settings.dicomweb_token:
        session.headers["Authorization"] = f"Bearer {settings.dicomweb_token.reveal()}"
    elif settings.dicomweb_user:
        session.auth = (settings.dicomweb_user, settings.dicomweb_password.reveal())
    return DICOMwebClient(url.strip().rstrip("/"), session=session)


def unavailable(error: requests.RequestException) -> DicomwebUnavailable:
    """The sentence for a failed request: refused credentials, an HTTP error, or no answer."""
    response = getattr(error, "response", None)
    where = _service(getattr(error, "request", None) or getattr(response, "request", None))
    if response is not None and response.status_code in (401, 403):
        return DicomwebUnavailable(f"The DICOMweb service at {where} refused Medal's credentials (HTTP "
                                   f"{response.status_code}); set MEDAL_DICOMWEB_USER and "
                                   "MEDAL_DICOMWEB_PASSWORD(_FILE) or MEDAL_DICOMWEB_TOKEN(_FILE) to an account it "
                                   "accepts.")
    if response is not None:
        return DicomwebUnavailable(f"The DICOMweb service at {where} answered HTTP {response.status_code}; check the "
                                   "address (it ends where /studies begins) and the service's log.")
    return DicomwebUnavailable(f"The DICOMweb service at {where} cannot be reached ({type(error).__name__}); check "
                               "the address and that the PACS is up.")


def _service(request: Any) -> str:
    """The service's address in an error: the request's URL without its query (no credentials are in it)."""
    url = str(getattr(request, "url", "") or "")
    return url.split("?")[0].split("/studies")[0] or "the configured address"
