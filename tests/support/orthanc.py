"""A throw-away Orthanc PACS with its DICOMweb plug-in (Debian's ``orthanc`` and ``orthanc-dicomweb``) on a free
loopback port, HTTP basic authentication on, for the tests that import from and send to a PACS; skipped only
where it is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER, PASSWORD = "medal", "pacs-secret"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Orthanc:
    """A running Orthanc: its REST root, its DICOMweb root, and helpers over its REST API."""

    rest: str
    folder: Path

    @property
    def dicomweb(self) -> str:
        return f"{self.rest}/dicom-web"

    def upload(self, *paths: Path) -> None:
        for path in paths:
            answer = requests.post(f"{self.rest}/instances", data=path.read_bytes(), auth=(USER, PASSWORD), timeout=30)
            answer.raise_for_status()

    def clear(self) -> None:
        """Delete every patient (so each test starts from an empty PACS)."""
        for patient in requests.get(f"{self.rest}/patients", auth=(USER, PASSWORD), timeout=30).json():
            requests.delete(f"{self.rest}/patients/{patient}", auth=(USER, PASSWORD), timeout=30).raise_for_status()

    def instances(self) -> int:
        return int(requests.get(f"{self.rest}/statistics", auth=(USER, PASSWORD), timeout=30).json()["CountInstances"])


@pytest.fixture(scope="module")
def orthanc() -> Iterator[Orthanc]:
    binary = shutil.which("Orthanc")
    if not binary or not PLUGIN.exists():
        pytest.skip("Orthanc with its DICOMweb plug-in is not installed (Debian: orthanc orthanc-dicomweb)")
    folder = Path(tempfile.mkdtemp(prefix="medal-orthanc-"))
    port = free_port()
    settings = {"Name": "MedalTest", "StorageDirectory": str(folder / "db"), "IndexDirectory": str(folder / "db"),
                "HttpPort": port, "DicomPort": free_port(), "RemoteAccessAllowed": False,
                "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD}, "Plugins": [str(PLUGIN)],
                "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}, "StableAge": 1}
    (folder / "orthanc.json").write_text(json.dumps(settings))
    server = subprocess.Popen([binary, str(folder / "orthanc.json")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    rest = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{rest}/system", auth=(USER, PASSWORD), timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        else:
            pytest.fail("Orthanc did not start")
        yield Orthanc(rest, folder)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
