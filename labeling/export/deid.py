"""De-identification of DICOM datasets: PS3.15 Annex E, Basic Application Level Confidentiality
Profile with the Retain Longitudinal Temporal Information with Modified Dates option.

The actions for every attribute of Table E.1-1 come from Kitware's ``dicom-anonymizer`` (its
2026c table). It applies them to top-level attributes only, draws random UIDs per process and
sets dates to 00010101, so this module covers what it misses:

- every UID that is not a registered DICOM UID (SOP classes, transfer syntaxes and coding schemes
  stay) is replaced wherever it sits, nested sequences and file meta included, by
  ``2.25.<HMAC of the project secret and the UID>``: the same original UID always gets the same new
  one, so references between exported files (a SEG's source, a series' frame of reference) hold;
- every date (DA, and the date part of DT) is shifted by a per-patient number of days drawn from the
  same secret, so the intervals between one patient's studies are kept; birth dates are emptied;
- the table's actions are applied again inside every remaining sequence item;
- private elements are removed at every depth;
- overlay descriptions, labels and comments (60xx) and the retired curve groups (50xx) are removed;
- the file meta group is rebuilt: the source's AE titles and implementation name stay behind;
- PatientName and PatientID become the pseudonymous patient key, and PatientIdentityRemoved,
  DeidentificationMethod(CodeSequence) and LongitudinalTemporalInformationModified are set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import version

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from dicomanonymizer.simpledicomanonymizer import anonymize_dataset, initialize_actions
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID_dictionary

TABLE = "dicomfields_2026c"
BIRTH_DATES = {(0x0010, 0x0030), (0x0010, 0x0032), (0x0010, 0x0033), (0x0010, 0x0034)}  # date, time, DT of birth
METHOD = ("PS3.15 E.1 Basic Application Confidentiality", "Retain Longitudinal Temporal Modified Dates",
          "Medal; dicom-anonymizer {version} table 2026c")
PROFILE_CODES = (("113100", "Basic Application Confidentiality Profile"),
                 ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"))
SHIFT_DAYS = (365, 3650)  # every patient's dates move back by a whole number of days in this range

Action = Callable[[Dataset, tuple[int, int]], None]


def _keep(_dataset: Dataset, _tag: tuple[int, int]) -> None:
    """Already handled by this module (a remapped UID or a shifted date)."""


def _blank(dataset: Dataset, tag: tuple[int, int]) -> None:
    if tag in dataset:
        dataset[tag].value = None


def _remove_unless_reference_sequence(dataset: Dataset, tag: tuple[int, int]) -> None:
    """X/Z/U*: a sequence of references stays (its UIDs are remapped, its items cleaned); else remove."""
    element = dataset.get(tag)
    if element is not None and element.VR not in ("SQ", "UI"):
        del dataset[tag]


def _vr(tag: tuple[int, ...]) -> str | None:
    try:
        return dictionary_VR(tuple(tag[:2])) if len(tag) == 2 else None
    except KeyError:
        return None


@lru_cache(maxsize=1)
def _rules() -> dict[tuple[int, ...], Action]:
    """Table E.1-1's actions, with UIDs and dates left to this module (they are already replaced)."""
    rules: dict[tuple[int, ...], Action] = dict(initialize_actions(TABLE))
    table = dicom_anonymization_database_selector(TABLE)
    removed = set(table["X_TAGS"])
    for tag in table["U_TAGS"]:
        rules[tag] = _keep
    for tag in table["X_Z_U_STAR_TAGS"]:
        rules[tag] = _remove_unless_reference_sequence
    for tag in rules:
        if _vr(tag) in ("DA", "DT") and tag not in removed:
            rules[tag] = _keep
    for tag in BIRTH_DATES:
        rules[tag] = _blank
    return rules


class Deidentifier:
    """De-identifies datasets for one export; the same secret gives the same UIDs and date shifts."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.method = [part.format(version=version("dicom-anonymizer")) for part in METHOD]

    def _digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{purpose}/{value}".encode(), hashlib.sha256).digest()

    def annotator(self, name: str) -> str:
        """A stable pseudonym for an annotator's name (the same in every export of the project)."""
        return "annotator-" + self._digest("annotator", name).hex()[:10]

    def uid(self, original: str) -> str:
        """The export's UID for ``original`` (a registered DICOM UID is returned unchanged)."""
        original = str(original).strip()
        if not original or original in UID_dictionary:
            return original
        return "2.25." + str(int.from_bytes(self._digest("uid", original)[:16], "big"))

    def shift_days(self, patient_key: str) -> int:
        """How many days this patient's dates move back (the same for all of their studies)."""
        low, high = SHIFT_DAYS
        return low + int.from_bytes(self._digest("date", patient_key)[:4], "big") % (high - low + 1)

    def shift_date(self, value: dt.date | None, patient_key: str) -> dt.date | None:
        return value - dt.timedelta(days=self.shift_days(patient_key)) if value else None

    def apply(self, dataset: Dataset, patient_key: str) -> Dataset:
        """De-identify ``dataset`` in place (file meta included) and return it."""
        days = self.shift_days(patient_key)
        _walk(dataset, lambda element: self._replace_uids_and_dates(element, days))
        if getattr(dataset, "file_meta", None) is not None:
            for element in dataset.file_meta:
                self._replace_uids_and_dates(element, days)
        _apply_table(dataset)
        dataset.PatientName = f"{patient_key}^"  # the key as family name (a trailing caret says so)
        dataset.PatientID = patient_key
        dataset.PatientIdentityRemoved = "YES"
        dataset.DeidentificationMethod = self.method
        dataset.DeidentificationMethodCodeSequence = Sequence([_code(value, meaning) for value, meaning in PROFILE_CODES])
        dataset.LongitudinalTemporalInformationModified = "MODIFIED"
        _remove_overlay_and_curve_text(dataset)
        if getattr(dataset, "file_meta", None) is not None:
            dataset.file_meta = _rebuilt_file_meta(dataset)
        return dataset

    def _replace_uids_and_dates(self, element: DataElement, days: int) -> None:
        if element.tag in BIRTH_DATES or element.value in (None, ""):
            return
        if element.VR == "UI":
            change: Callable[[str], str] = self.uid
        elif element.VR in ("DA", "DT"):
            change = lambda value: _shift(value, days)  # noqa: E731
        else:
            return
        values = [change(str(v)) for v in (element.value if element.VM > 1 else [element.value])]
        element.value = values if element.VM > 1 else values[0]


OVERLAY_TEXT = (0x0022, 0x1500, 0x4000)  # Overlay Description, Overlay Label, Overlay Comments in 60xx


def _remove_overlay_and_curve_text(dataset: Dataset) -> None:
    """Free text the table does not reach: overlay descriptions, labels and comments (groups 60xx) and
    the retired curve groups 50xx, whole."""
    for element in list(dataset):
        group, number = element.tag.group, element.tag.element
        if 0x5000 <= group <= 0x50FF or (0x6000 <= group <= 0x60FF and group % 2 == 0 and number in OVERLAY_TEXT):
            del dataset[element.tag]


def _rebuilt_file_meta(dataset: Dataset) -> FileMetaDataset:
    """A new file meta group: the source's AE titles, implementation name and private information stay behind."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.get("SOPClassUID", dataset.file_meta.get("MediaStorageSOPClassUID"))
    meta.MediaStorageSOPInstanceUID = dataset.get("SOPInstanceUID", dataset.file_meta.get("MediaStorageSOPInstanceUID"))
    meta.TransferSyntaxUID = dataset.file_meta.TransferSyntaxUID
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"MEDAL_{version('medal-labeling')}"[:16]
    return meta


def _walk(dataset: Dataset, visit: Callable[[DataElement], None]) -> None:
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                _walk(item, visit)
        else:
            visit(element)


def _apply_table(dataset: Dataset) -> None:
    """Table E.1-1 on this dataset and, again, inside every sequence item that remains."""
    anonymize_dataset(dataset, None, delete_private_tags=True, base_rules_gen=lambda: dict(_rules()))
    for element in list(dataset):
        if element.VR == "SQ":
            for item in element.value:
                _apply_table(item)


def _shift(value: str, days: int) -> str:
    """A DA or DT value moved back by ``days``; an unreadable date becomes empty."""
    try:
        day = dt.datetime.strptime(value[:8], "%Y%m%d").date()
    except ValueError:
        return ""
    return (day - dt.timedelta(days=days)).strftime("%Y%m%d") + value[8:]


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
    return item

