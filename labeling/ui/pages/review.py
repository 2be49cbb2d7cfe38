"""Review: the images whose readings disagree (and a sample of agreeing ones), each reader's regions in their own
colour, and the consensus a reviewer makes — one reading accepted, regions merged from several, or regions edited in
the viewer beside every reader's — with a reason."""

import streamlit as st

from labeling.access import CONSENSUS
from labeling.labels import (
    accept_reading,
    merge_readings,
    reader_colours,
    readings_of,
    readings_png,
    region_rows,
    review_item,
    review_queue,
)
from labeling.ui import the_project
from labeling.ui.access import require_account
from labeling.ui.parts import as_text, consensus_saved, consensus_station, open_consensus, show_error
from storage import MedalError

project = the_project()
account = require_account(project=project)
st.title("Review")
consensus_saved()  # the toast of a consensus just saved in the viewer
if not account.reviews:
    st.info("Reviewers and admins review readings and adjudicate them.")
    st.stop()
try:
    queue = review_queue(engine=project.engine, actor=account.name)
except MedalError as error:
    show_error(error)
    st.stop()
wanted = st.number_input("Or an image by its id (to revise its consensus)", min_value=1, value=None, step=1)
if wanted is not None:
    try:
        item = review_item(int(wanted), engine=project.engine, actor=account.name)
    except MedalError as error:
        show_error(error)
        st.stop()
elif not queue:
    st.success("Nothing to review: every image read twice agrees, or has its consensus.")
    st.stop()
else:
    item = st.selectbox(f"{len(queue)} image(s) to review", queue,
                        format_func=lambda i: f"Image {i.image_id}: {i.reasons[0]}"  # options are plain text
                        + (f" (+{len(i.reasons) - 1})" if len(i.reasons) > 1 else ""))
if consensus_station(item.image_id, account, project=project):  # the viewer, editing this image's consensus
    st.stop()
readings = readings_of(item.image_id, engine=project.engine, actor=account.name)
readers = [name for name in sorted(readings) if name != CONSENSUS]
colours = reader_colours(readers)
picture, side = st.columns([3, 2])
with side:
    for reason in item.reasons:
        st.text(f"• {reason}")
    shown = [name for name in readers
             if st.checkbox(f"{as_text(name)} ({colours[name]})", value=True, key=f"show-{item.image_id}-{name}")]
    st.dataframe(region_rows({name: readings[name] for name in readers}), hide_index=True)
picture.image(readings_png(item.image_id, shown, project=project, actor=account.name),
              caption=f"Image {item.image_id}: each reader's regions in their colour, numbered", width="stretch")
with st.form("consensus"):
    how = st.radio("Consensus", ["Accept one reading", "Merge regions"], horizontal=True)
    accepted = st.selectbox("Reading to accept", readers)
    choices = [(name, n) for name in readers for n in range(len(readings[name].regions))]
    merged = st.multiselect("Regions to keep (merge)", choices,
                            format_func=lambda c: f"{c[0]}: {c[0][:1]}{c[1]} ({readings[c[0]].regions[c[1]].label})")
    label_from = st.selectbox("Image label from (merge)", readers)
    reason = st.text_input("Why this is the consensus", max_chars=1000)
    take = {name: [n for who, n in merged if who == name] for name in readers if any(who == name for who, _ in merged)}
    saving = st.form_submit_button("Save the consensus", type="primary")
    if st.form_submit_button("Edit the consensus in the viewer", help="Starts from the consensus if there is one, "
                             "else the reading to accept, or the regions to keep (every reader's when none is chosen)"):
        try:
            one = how == "Accept one reading"
            open_consensus(item.image_id, account, take={accepted: None} if one else take or None,
                           label_from=accepted if one else label_from, reason=reason, project=project)
            st.rerun()
        except MedalError as error:
            show_error(error)
    if saving:
        try:
            if how == "Accept one reading":
                saved = accept_reading(item.image_id, accepted, engine=project.engine, reason=reason,
                                       actor=account.name)
            else:
                saved = merge_readings(item.image_id, take, label_from=label_from, engine=project.engine,
                                       reason=reason, actor=account.name)
            st.toast(f"Saved the consensus of image {saved.image_id}: {len(saved.regions)} region(s), "
                     f"image label {as_text(saved.image_label or 'none')}.")
            st.rerun()
        except MedalError as error:
            show_error(error)
