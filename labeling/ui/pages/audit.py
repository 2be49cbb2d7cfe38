"""Audit: who did what and when, for admins: saves, edits, skips, reviews, settings, log-ins and failed log-ins,
exports and deletions, newest first, filtered by user, image and action, with what each changed."""

import json

import streamlit as st

from labeling.access import audit_trail, list_users
from labeling.ui import the_project
from labeling.ui.access import require_account
from labeling.ui.parts import show_error
from storage import MedalError

ACTIONS = ["all", "annotation", "review", "image", "setting", "user", "export", "job", "model", "taxonomy"]
project = the_project()
account = require_account(project=project)
st.title("Audit")
if not account.audits:
    st.info("Admins see the audit trail.")
    st.stop()
who, image, what, limit = st.columns(4)
user = who.selectbox("User", ["everyone", *[u["name"] for u in list_users(engine=project.engine)]])
image_id = image.number_input("Image id", min_value=1, step=1, value=None, placeholder="any image")
action = what.selectbox("Action", ACTIONS, help="A family (annotation: saves, undos, imports) or all")
count = limit.number_input("Newest", min_value=10, max_value=5000, value=500, step=100)
try:
    entries = audit_trail(engine=project.engine, actor=account.name, user=None if user == "everyone" else user,
                          image_id=int(image_id) if image_id else None, action=None if action == "all" else action,
                          limit=int(count))
except MedalError as error:
    show_error(error)
    st.stop()
st.caption(f"{len(entries)} event(s)")
st.dataframe([{"when (UTC)": f"{e.at:%Y-%m-%d %H:%M:%S}", "user": e.user, "action": e.action, "image": e.image_id,
               "what changed": json.dumps(e.detail, ensure_ascii=False, default=str)} for e in entries],
             hide_index=True, width="stretch")
