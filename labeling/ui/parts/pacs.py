"""The PACS on the Import and Export pages: import from the configured DICOMweb service (roles that import) and
send the SEGs back to it (admins). Only ``MEDAL_DICOMWEB_URL`` is reached from the browser — a page never takes
an address, so no account can point Medal's PACS credentials at a server of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from labeling.export import stow_segs
from labeling.intake import DicomwebQuery, import_dicomweb
from labeling.ui.parts.text import as_text, show_error
from storage import MedalError, config

if TYPE_CHECKING:
    from labeling.access import Account
    from storage import Project


def dicomweb_import(account: Account, *, project: Project) -> None:
    """A search form over the configured PACS and its import, with a progress bar and the refusals."""
    st.subheader("From the PACS (DICOMweb)")
    url = config().dicomweb_url
    if not url:
        st.caption("No PACS is configured: an admin sets MEDAL_DICOMWEB_URL (and its credentials) to import here.")
        return
    st.caption(as_text(f"PACS: {url}. Leave every field empty to import everything it holds that Medal lacks."))
    with st.form("dicomweb"):
        left, middle, right = st.columns(3)
        modality, accession = left.text_input("Modality (e.g. CT)"), middle.text_input("Accession number")
        dates = right.date_input("Study dates", value=(), help="a day or a range")
        study, series = st.columns(2)
        study_uid, series_uid = study.text_input("Study Instance UID"), series.text_input("Series Instance UID")
        submitted = st.form_submit_button("Import from the PACS")
    if not submitted:
        return
    days = list(dates) if isinstance(dates, (list, tuple)) else [dates]
    query = DicomwebQuery(study_uid=study_uid.strip(), series_uid=series_uid.strip(), modality=modality.strip(),
                          accession_number=accession.strip(), date_from=days[0] if days else None,
                          date_to=days[-1] if days else None)
    bar = st.progress(0.0, text="Searching the PACS…")
    try:
        report = import_dicomweb(url, query, project=project, actor=account.name,
                                 progress=lambda fraction, message: bar.progress(min(fraction, 1.0), text=message))
    except MedalError as error:
        bar.empty()
        show_error(error)
        return
    bar.empty()
    found = report.as_dict()
    st.success(f"{found['found']} instance(s) found: {found['retrieved']} retrieved, {found['already_held']} already "
               f"here; {found['images']} new image(s), {len(found['refused'])} refused.")
    if found["refused"]:
        st.dataframe([{"instance": item["path"], "reason": item["reason"]} for item in found["refused"]],
                     hide_index=True)


def send_to_pacs(account: Account, *, project: Project) -> None:
    """Admins: send each labeled image's SEG (original UIDs, identities kept) to the configured PACS."""
    url = config().dicomweb_url
    if not (account.is_admin and url):
        return
    st.subheader("Back to the PACS")
    st.caption(as_text(f"Each labeled image's DICOM SEG goes to {url} with STOW-RS, in the image's own study "
                       "(identities kept; the same reading sent again replaces its SEG)."))
    if not st.button("Send SEGs to the PACS"):
        return
    bar = st.progress(0.0, text="Writing the SEGs…")
    try:
        report = stow_segs(url, project=project, actor=account.name,
                           progress=lambda fraction, message: bar.progress(min(fraction, 1.0), text=message))
    except MedalError as error:
        bar.empty()
        show_error(error)
        return
    bar.empty()
    st.success(f"The PACS stored {len(report.stored)} SEG(s); {len(report.refused)} refused; "
               f"{len(report.not_sent)} image(s) had no SEG to send.")
    rows = [{"SEG": item["sop_instance_uid"], "refused because": item["reason"]} for item in report.refused]
    rows += [{"image": item["image"], "no SEG because": item["reason"]} for item in report.not_sent]
    if rows:
        st.dataframe(rows, hide_index=True)
