"""Results back to the PACS (``medal export --stow URL`` and the Export page): the DICOM SEG of each labeled
image, sent with STOW-RS to the service the images came from.

The SEGs are the export's own (``labeling.export.seg``: written with highdicom, read back before they count),
keeping identities — they reference the **original** study, series and SOP instance UIDs, since they go back to
the source — with UIDs derived from the reading (``seg_uids``): sending the same reading again replaces the
object in the PACS instead of adding a copy, and an edited reading is a new object. They go in requests of
``STOW_BATCH`` instances; the report says which SOP instances the PACS stored, which it refused (with its failure
reason code) and which images had no SEG to send (with the export's reason).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
import requests

from labeling.dicom import client_for, unavailable
from labeling.export.run import ExportOptions, export_dataset

STOW_BATCH = 20  # SEGs per STOW-RS request
FAILED_SOP_SEQUENCE, REFERENCED_SOP_SEQUENCE = 0x00081198, 0x00081199
Progress = Callable[[float, str], None]


@dataclass
class StowReport:
    """What the PACS said: SOP Instance UIDs it stored, refusals with their reason, images with no SEG."""

    stored: list[str] = field(default_factory=list)
    refused: list[dict[str, str]] = field(default_factory=list)
    not_sent: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"stored": len(self.stored), "refused": self.refused, "not_sent": self.not_sent,
                "sop_instance_uids": self.stored}


def stow_segs(url: str, *, project: Any, actor: str | None = None, readings: str = "each",
              progress: Progress | None = None) -> StowReport:
    """Send the SEG of every labeled DICOM image of ``project`` to the DICOMweb service at ``url`` (see the module
    docstring). ``actor`` must be allowed to export with identities kept. Raises ``DicomwebUnavailable`` when the
    service cannot be reached or refuses the credentials, ``ExportError`` when nothing is labeled."""
    tell = progress or (lambda fraction, message: None)
    client, report = client_for(url), StowReport()
    with tempfile.TemporaryDirectory(prefix="medal-stow-") as scratch:
        out = Path(scratch) / "export"
        exported = export_dataset(out, ExportOptions(formats=["seg"], readings=readings), project=project,
                                  actor=actor, progress=lambda done, total: tell(0.5 * done / max(total, 1),
                                                                                   "writing the SEGs"))
        report.not_sent = list(exported.card["files"]["seg"]["skipped"])
        files = sorted((out / "seg").glob("*.dcm"))
        for start in range(0, len(files), STOW_BATCH):
            end = min(start + STOW_BATCH, len(files))
            tell(0.5 + 0.5 * start / max(len(files), 1), f"sending SEGs {start + 1}–{end} of {len(files)}")
            batch = [pydicom.dcmread(path) for path in files[start:end]]
            try:
                answer = client.store_instances(batch)
            except requests.HTTPError as error:
                if error.response is not None and error.response.status_code in (401, 403):
                    raise unavailable(error) from error
                report.refused += [{"sop_instance_uid": str(dataset.SOPInstanceUID),
                                    "reason": f"the PACS answered HTTP {error.response.status_code}"
                                    if error.response is not None else "no answer"} for dataset in batch]
                continue
            except requests.RequestException as error:
                raise unavailable(error) from error
            _read_answer(answer, batch, report)
    tell(1.0, f"{len(report.stored)} SEG(s) stored by the PACS")
    return report


def _read_answer(answer: pydicom.Dataset, batch: list[pydicom.Dataset], report: StowReport) -> None:
    """The STOW-RS response (PS3.18 Table 10.5.3-1): Referenced SOP Sequence for stored instances, Failed SOP
    Sequence with a Failure Reason for refused ones; an instance in neither counts as refused."""
    stored = {str(item.ReferencedSOPInstanceUID) for item in _items(answer, REFERENCED_SOP_SEQUENCE)
              if "ReferencedSOPInstanceUID" in item}
    failed = {str(item.ReferencedSOPInstanceUID): int(item.get("FailureReason", 0xA700))
              for item in _items(answer, FAILED_SOP_SEQUENCE) if "ReferencedSOPInstanceUID" in item}
    for dataset in batch:
        uid = str(dataset.SOPInstanceUID)
        if uid in stored and uid not in failed:
            report.stored.append(uid)
        else:
            report.refused.append({"sop_instance_uid": uid, "reason": f"the PACS refused it (failure reason "
                                   f"0x{failed.get(uid, 0xA700):04X})" if uid in failed else
                                   "the PACS's answer does not list it as stored"})


def _items(answer: pydicom.Dataset, tag: int) -> list[pydicom.Dataset]:
    return list(answer[tag].value or []) if tag in answer else []
