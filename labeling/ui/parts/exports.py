"""Export page parts: the download of the session's export and, for admins, the past exports with Delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from labeling.access import Account, rights
from labeling.export import delete_export, export_card, list_exports
from labeling.ui import EXPORT_PREFIX, download_tickets
from labeling.ui.access import BROWSER_SESSION_KEY
from labeling.ui.parts.text import as_text, show_error
from learner import ACTIVE, JobStatus, get_job, worker_running
from storage import MedalError

if TYPE_CHECKING:
    from storage import Project

NAME_KEY = "export_name"  # the folder name (in the project's exports) of this session's last export
CARD_KEY = "export_card"  # its dataset card
TICKET_KEY = "export_ticket"  # the one-time download ticket the page shows for it
SHOWN = 20  # past exports listed on the page; `medal exports list` lists them all
FAILED_KEY = "export_failed"  # why it failed, shown once
JOB_KEY = "export_job"  # the id of this session's export running in the worker


@st.fragment(run_every=1)
def export_job_progress(account: Account, *, project: Project) -> None:
    """This session's background export: its progress while the worker runs it; when it is done, its card and
    download (the whole page is drawn again), or why it failed."""
    job_id = st.session_state.get(JOB_KEY)
    job = get_job(job_id, engine=project.engine) if isinstance(job_id, int) else None
    if job is None:
        return
    if job.status in ACTIVE:
        st.progress(job.progress, text=f"Exporting in the background — {as_text(job.message or '')}")
        if not worker_running(project=project):
            st.warning("No worker is running for this project: start one with `medal worker` "
                       "(the app starts one itself unless MEDAL_WORKER=off).")
        return
    del st.session_state[JOB_KEY]
    if job.status != JobStatus.SUCCEEDED or not job.result:
        st.session_state[FAILED_KEY] = job.error or job.message or "the export did not finish"
    else:
        try:
            st.session_state[CARD_KEY] = export_card(job.result["name"], actor=account.name, project=project)
            st.session_state[NAME_KEY] = job.result["name"]
        except MedalError as error:
            st.session_state[FAILED_KEY] = str(error)
    st.rerun(scope="app")


def export_job_failure() -> None:
    """Why this session's background export failed, once."""
    if reason := st.session_state.pop(FAILED_KEY, None):
        show_error(f"The export failed: {reason}")


@st.fragment(run_every=2)
def download_button() -> None:
    """Download the session's export as a zip through Medal's own route (cookie, rights, audit, a link that
    works once): the zip is made only when the link is followed and deleted from disk once read. A used
    or expired link is replaced within seconds."""
    name, browser_session = st.session_state.get(NAME_KEY), st.session_state.get(BROWSER_SESSION_KEY)
    if not name or not isinstance(browser_session, int):
        return
    ticket = st.session_state.get(TICKET_KEY)
    if not isinstance(ticket, str) or not download_tickets.pending(ticket, name):
        ticket = st.session_state[TICKET_KEY] = download_tickets.issue(name, browser_session)
    st.link_button(f"Download {as_text(name)}.zip", f"{EXPORT_PREFIX}{ticket}", type="primary")


def past_exports(account: Account, *, project: Project) -> None:
    """Admins only: the newest past exports, each with a Delete button (folder and zips, for good)."""
    if not rights.allows(rights.PAST_EXPORTS, account.role):
        return
    st.subheader("Past exports")
    try:
        entries = list_exports(actor=account.name, project=project)
    except MedalError as error:
        show_error(error)
        return
    if not entries:
        st.caption("None on the server.")
    for entry in entries[:SHOWN]:
        left, right = st.columns([5, 1])
        images = "? images" if entry.images is None else f"{entry.images} image(s)"
        kept = {True: " · de-identified", False: " · keeps identity", None: ""}[entry.deidentified]
        left.markdown(f"{as_text(entry.name)} · {entry.created:%Y-%m-%d %H:%M} UTC · {images} · "
                      f"{entry.size / 1e6:.1f} MB{kept}")
        if right.button("Delete", key=f"delete-export-{entry.name}", help="Delete the folder and its zips for good"):
            _delete(account, entry.name, project=project)
    if len(entries) > SHOWN:
        st.caption(f"… and {len(entries) - SHOWN} older; `medal exports list` shows them all.")


def _delete(account: Account, name: str, *, project: Project) -> None:
    try:
        delete_export(name, actor=account.name, project=project)
    except MedalError as error:
        show_error(error)
        return
    if st.session_state.get(NAME_KEY) == name:
        st.session_state.pop(NAME_KEY)
        st.session_state.pop(CARD_KEY, None)
    st.rerun()
