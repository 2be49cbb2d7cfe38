"""``medal listen``: pynetdicom's storage SCU pushes real DICOM files to Medal's Storage SCP, which imports them;
a calling AE title not on the allow-list is refused."""

from __future__ import annotations

import socket
import threading
import time

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, MRImageStorage, Verification

from labeling.intake import listen
from labeling.labels import list_images
from tests.conftest import pydicom_file

FILES = ("CT_small.dcm", "MR_small.dcm")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def listener(project):
    imported = threading.Event()
    port = free_port()
    running = listen(project=project, ae_title="MEDAL", port=port, bind="127.0.0.1", allowed=["CT_SCANNER"],
                     on_import=lambda report: imported.set())
    yield port, imported, running
    running.stop()


def scu(calling: str) -> AE:
    ae = AE(ae_title=calling)
    for context in (CTImageStorage, MRImageStorage, Verification):
        ae.add_requested_context(context)
    return ae


def test_a_modality_pushes_a_study_and_medal_imports_it(project, listener) -> None:
    port, imported, running = listener
    association = scu("CT_SCANNER").associate("127.0.0.1", port, ae_title="MEDAL")
    assert association.is_established
    assert association.send_c_echo().Status == 0x0000
    for name in FILES:
        assert association.send_c_store(pydicom.dcmread(pydicom_file(name))).Status == 0x0000
    association.release()
    assert imported.wait(60)
    uids = {image.sop_instance_uid for image in list_images(engine=project.engine)}
    assert uids == {str(pydicom.dcmread(pydicom_file(name)).SOPInstanceUID) for name in FILES}
    assert sorted(p.name for p in running.received.files) == sorted(f"{uid}.dcm" for uid in uids)
    assert all(p.is_relative_to(project.home / "received") for p in running.received.files)


def test_a_calling_ae_not_on_the_list_is_refused(project, listener) -> None:
    port, _, _ = listener
    association = scu("INTRUDER").associate("127.0.0.1", port, ae_title="MEDAL")
    assert not association.is_established and association.is_rejected
    assert list_images(engine=project.engine) == []


def test_instances_are_imported_as_they_come(project, listener, monkeypatch) -> None:
    monkeypatch.setattr("labeling.intake.storage_scp.IMPORT_BATCH", 1)  # a batch of one: imported before the answer
    port, _, _ = listener
    association = scu("CT_SCANNER").associate("127.0.0.1", port, ae_title="MEDAL")
    assert association.send_c_store(pydicom.dcmread(pydicom_file(FILES[0]))).Status == 0x0000
    assert len(list_images(engine=project.engine)) == 1  # while the association goes on
    association.release()


def test_the_queue_is_ranked_once_when_an_association_ends(project, listener, monkeypatch) -> None:
    """Not after every batch of it: ranking reads up to 500 previews and clusters them (0.7 s a time)."""
    ranked: list[int] = []
    monkeypatch.setattr("labeling.intake.storage_scp.IMPORT_BATCH", 1)
    monkeypatch.setattr("labeling.intake.storage_scp.refresh_cold_start", lambda **kwargs: ranked.append(1))
    monkeypatch.setattr("labeling.intake.ingest.refresh_cold_start", lambda **kwargs: ranked.append(2))
    port, _, _ = listener
    association = scu("CT_SCANNER").associate("127.0.0.1", port, ae_title="MEDAL")
    for name in FILES:
        assert association.send_c_store(pydicom.dcmread(pydicom_file(name))).Status == 0x0000
    assert ranked == [] and len(list_images(engine=project.engine)) == len(FILES)
    association.release()
    deadline = time.monotonic() + 10
    while not ranked and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ranked == [1]


def test_an_instance_over_the_size_limit_is_refused_before_it_is_decoded(project, listener, monkeypatch) -> None:
    monkeypatch.setenv("MEDAL_MAX_FILE_MB", "0.001")  # 1 kB: CT_small.dcm is ~39 kB
    port, _, running = listener
    association = scu("CT_SCANNER").associate("127.0.0.1", port, ae_title="MEDAL")
    assert association.send_c_store(pydicom.dcmread(pydicom_file(FILES[0]))).Status == 0xA700  # out of resources
    association.release()
    assert running.received.files == [] and list((project.home / "received").glob("*/*.dcm")) == []
