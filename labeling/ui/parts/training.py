"""Widgets of the Train page: the live job panel (a fragment that re-reads the job rows) and the worker line."""

from __future__ import annotations

import streamlit as st

from labeling.ui.parts.text import as_text
from learner import ACTIVE, JobStatus, JobView, cancel, ensure_worker, list_jobs, worker_running
from storage import Project

REFRESH_S = 1.5
WATCHED_KEY = "train_jobs_watched"  # ids of the jobs this session saw running or queued


def _job_line(job: JobView) -> str:
    return f"Job {job.id} · {job.kind} · {job.status}"


@st.fragment(run_every=REFRESH_S)
def live_jobs(username: str, may_cancel: bool, *, project: Project) -> None:
    """The running and queued jobs with progress and a Cancel button; the last finished one otherwise."""
    recent = list_jobs(10, engine=project.engine)
    active = [job for job in recent if job.status in ACTIVE]
    for job in active:
        st.progress(job.progress, text=f"{_job_line(job)} — {as_text(job.message or '')}")
        if may_cancel and st.button("Cancel", key=f"cancel-{job.id}"):
            cancel(job.id, actor=username, engine=project.engine)
            st.rerun()
    watched = st.session_state.get(WATCHED_KEY, set())
    st.session_state[WATCHED_KEY] = {job.id for job in active}
    if watched - st.session_state[WATCHED_KEY]:  # a job this page watched has ended: its versions, metrics
        st.rerun(scope="app")                      # and "No model yet" are outside this fragment: redraw all
    finished = next((job for job in recent if job.status not in ACTIVE), None)
    if finished is not None and not active:
        text = f"{_job_line(finished)}: {as_text(finished.error or finished.message or '')}"
        (st.success if finished.status == JobStatus.SUCCEEDED else st.warning)(text)
    if active and not worker_running(project=project):
        st.warning("No worker is running for this project: start one with `medal worker` "
                   "(the app starts one itself unless MEDAL_WORKER=off).")


@st.cache_resource(hash_funcs={Project: lambda project: str(project.home)})  # one worker per project home
def start_worker_once(*, project: Project) -> bool:
    """Once per app process: make sure a worker serves this project (see ``learner.supervisor``)."""
    return ensure_worker(project=project)
