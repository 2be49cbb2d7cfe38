"""A throw-away Orthanc PACS with its DICOMweb plug-in for the tests that import from and send to a PACS: the
benchmarks' own (``benchmarks.pacs.running_orthanc``: free loopback port, HTTP basic authentication on), one per
test module; skipped only where Orthanc or its plug-in is not installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from benchmarks.pacs import PASSWORD, USER, OrthancMissing, Pacs, running_orthanc

__all__ = ["PASSWORD", "USER", "Orthanc", "orthanc"]


class Orthanc:
    """The running PACS, with the helpers the tests use."""

    def __init__(self, pacs: Pacs) -> None:
        self.pacs, self.rest, self.dicomweb = pacs, pacs.rest, pacs.dicomweb

    def upload(self, *paths: Path) -> None:
        self.pacs.upload(list(paths), threads=1)

    def instances(self) -> int:
        return self.pacs.instances()

    def clear(self) -> None:
        """Delete every patient (so each test starts from an empty PACS)."""
        for patient in self.pacs.get("/patients"):
            requests.delete(f"{self.rest}/patients/{patient}", auth=(USER, PASSWORD), timeout=30).raise_for_status()


@pytest.fixture(scope="module")
def orthanc() -> Iterator[Orthanc]:
    try:
        with running_orthanc() as pacs:
            yield Orthanc(pacs)
    except OrthancMissing as missing:
        pytest.skip(str(missing))
