"""Train: start retraining, watch it live, compare model versions, roll back, pick the query strategy."""

import streamlit as st

from labeling.ui import the_project
from labeling.ui.access import require_account
from labeling.ui.parts import live_jobs, show_error, version_charts
from learner import (
    DEFAULT,
    STRATEGIES,
    activate,
    auto_retrain_every,
    enqueue,
    history,
    pending,
    set_auto_retrain_every,
    set_strategy,
    strategy,
)
from storage import MedalError

project = the_project()
account = require_account(project=project)
st.title("Train")
live_jobs(account.name, account.runs_training, project=project)

if account.runs_training:
    left, right = st.columns(2)
    names = ["default", *STRATEGIES]
    current, current_every = strategy(engine=project.engine), auto_retrain_every(engine=project.engine)
    chosen = left.selectbox("Query strategy", names, index=names.index(current),
                            help=f"default = {DEFAULT}, the one the oracle simulation picked")
    every = right.number_input("Retrain automatically every N new labels (0 = off)", 0, 100_000,
                               current_every, step=10)
    if chosen != current:
        set_strategy(chosen, actor=account.name, engine=project.engine)
        st.toast(f"Strategy: {chosen}. It applies from the next scoring.")
    if every != current_every:
        set_auto_retrain_every(int(every), actor=account.name, engine=project.engine)
        st.toast("Automatic retraining: " + (f"every {every} new labels." if every else "off."))
    train, rerank = st.columns(2)
    if train.button("Train now", type="primary", disabled=pending("train", engine=project.engine) is not None):
        job_id = enqueue("train", actor=account.name, engine=project.engine)
        st.toast(f"Training job {job_id} queued.")
        st.rerun()
    if rerank.button("Re-rank the queue with the active model", disabled=pending("score",
                                                                                 engine=project.engine) is not None):
        enqueue("score", actor=account.name, engine=project.engine)
        st.rerun()

METRIC_NAMES = {"labels": "Labels", "image_auc": "Image AUC", "auc": "Patch AUC", "sensitivity": "Sensitivity",
                "specificity": "Specificity", "ece": "ECE"}
METRIC_HELP = {"image_auc": "Whole validation images, with a finding against without, by the image probability "
                            "the Label page shows (the hottest window's).",
               "auc": "Drawn regions against normal patches of the same images: easier than whole images, so "
                      "higher; trust the image AUC."}
rows = history(engine=project.engine)
if not rows:
    st.info("No model yet. Label some cancerous and some healthy images (at least 5 of each), then train.")
    st.stop()
active = next((row for row in rows if row["active"]), None)
if active:
    st.subheader(f"Active: version {active['version']}")
    cols = st.columns(6)
    for col, name in zip(cols, ("labels", "image_auc", "auc", "sensitivity", "specificity", "ece")):
        col.metric(METRIC_NAMES[name], active[name], help=METRIC_HELP.get(name))
else:
    st.warning("No model is active: the queue keeps its last order. Activate a version below or train.")

st.subheader("Versions")
st.dataframe(rows[::-1], hide_index=True)
plotted = [row for row in rows if row["auc"] is not None]
if len(plotted) >= 2:
    st.caption("Validation AUC against the number of labeled images")
    st.line_chart([{"labels": row["labels"], "AUC": row["auc"]} for row in plotted], x="labels", y="AUC")
pick = st.selectbox("Version", [row["version"] for row in rows[::-1]])
version_charts(pick, project=project)
if account.runs_training:
    if st.button("Activate this version (roll back)"):
        try:
            activate(pick, actor=account.name, engine=project.engine)
        except MedalError as error:
            show_error(error)
        else:
            enqueue("score", actor=account.name, engine=project.engine)
            st.success(f"Version {pick} is active; the queue is being re-ranked with it.")
