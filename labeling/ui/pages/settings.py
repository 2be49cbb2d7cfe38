"""Settings: the label taxonomy (classes, colours, keys) and, for admins, the user accounts."""

import streamlit as st

from labeling.access import ROLE_NAMES, add_user, list_users, update_user
from labeling.labels import list_classes, save_class
from labeling.ui import the_project
from labeling.ui.access import require_account
from labeling.ui.parts import as_text, show_error
from storage import MedalError

FLASH = "settings-flash"  # what was just done, shown after the rerun that shows its result
LOG_IN = {"(unchanged)": None, "may log in": True, "may not log in": False}

project = the_project()
account = require_account(project=project)
st.title("Settings")
if done := st.session_state.pop(FLASH, None):
    st.success(as_text(done))
st.subheader("Label classes")
classes = list_classes(include_inactive=True, engine=project.engine)
st.dataframe([{"name": c.name, "colour": c.color, "key": c.key or "", "description": c.description,
               "SNOMED CT": f"{c.type_code} {c.type_meaning}", "category": c.category_meaning} for c in classes],
             hide_index=True)
if account.edits_taxonomy:
    names = ["New class"] + [c.name for c in classes]
    chosen = st.selectbox("Edit class", names)
    item = next((c for c in classes if c.name == chosen), None)
    with st.form("class-form"):
        name = st.text_input("Name", value=item.name if item else "")
        color = st.color_picker("Colour", value=item.color if item else "#4363d8")
        key = st.text_input("Keyboard key", value=(item.key or "") if item else "", max_chars=1)
        code = st.text_input("SNOMED CT code (new classes)", disabled=item is not None)
        about = st.text_area("Description (what readers mark with it; shown beside the class on the Label page)",
                             value=item.description if item else "", max_chars=500, height=80)
        if st.form_submit_button("Save class", type="primary"):
            try:
                save_class(name, color, key, class_id=item.id if item else None, actor=account.name,
                           kind=(code, name) if code else None, description=about, engine=project.engine)
            except MedalError as error:
                show_error(error)
            else:
                st.session_state[FLASH] = f"{'Saved' if item else 'Added'} class {name.strip()}."
                st.rerun()
else:
    st.caption("Scientists and admins can change the classes.")

if not account.is_admin:
    st.stop()
st.subheader("Users")
users = list_users(engine=project.engine)
st.dataframe(users, hide_index=True)
add, change = st.columns(2)
with add.form("add-user", clear_on_submit=True):
    st.markdown("**Add a user**")
    new_name = st.text_input("User name")
    new_password = st.text_input("Initial password", type="password")
    new_role = st.selectbox("Role", ROLE_NAMES)
    sso_only = st.checkbox("Single sign-on only: no password (one typed above is not kept); the account signs in "
                           "through the hospital's identity provider")
    if st.form_submit_button("Add user"):
        try:
            add_user(new_name, None if sso_only else new_password, new_role, actor=account.name,
                     engine=project.engine)
        except MedalError as error:
            show_error(error)
        else:
            st.session_state[FLASH] = f"Added user {new_name.strip()} ({new_role})."
            st.rerun()
with change.form("change-user"):
    st.markdown("**Change a user**")
    now = {u["name"]: f"{u['role']}, {'may' if u['active'] else 'may not'} log in" for u in users}
    who = st.selectbox("User (as it is now)", list(now), format_func=lambda name: f"{name} ({now[name]})")
    role = st.selectbox("New role", ["(unchanged)", *ROLE_NAMES])
    password = st.text_input("New password (blank: unchanged)", type="password")
    # Unchanged unless chosen: a default tick re-enabled a disabled account whose role alone was changed.
    log_in = st.selectbox("Log-in", list(LOG_IN))  # (unchanged): as the user's entry above says
    if st.form_submit_button("Save user"):
        try:
            update_user(who, password=password or None, role=None if role == "(unchanged)" else role,
                        active=LOG_IN[log_in], actor=account.name, engine=project.engine)
        except MedalError as error:
            show_error(error)
        else:
            st.session_state[FLASH] = f"Saved user {who}."
            st.rerun()
