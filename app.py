"""Medal's Streamlit entry point: page config, the login gate and navigation only (``streamlit run app.py``)."""

import streamlit as st

from labeling.ui.parts.session import current_account, sidebar_account
from labeling.ui.parts.training import start_worker_once

st.set_page_config(page_title="Medal", page_icon="🩻", layout="wide")
start_worker_once()

if current_account() is None:
    pages = [st.Page("labeling/ui/pages/login.py", title="Log in", icon=":material/login:")]
else:
    account = sidebar_account()
    # Each role sees the pages it may use; the pages and the library check the rights again.
    pages = [
        st.Page("labeling/ui/pages/label.py", title="Label", icon=":material/draw:", default=True),
        st.Page("labeling/ui/pages/images.py", title="Images", icon=":material/photo_library:"),
        st.Page("labeling/ui/pages/train.py", title="Train", icon=":material/model_training:"),
    ]
    if account.imports_data:
        pages.append(st.Page("labeling/ui/pages/import_files.py", title="Import", icon=":material/upload:"))
    if account.exports_data:
        pages.append(st.Page("labeling/ui/pages/export.py", title="Export", icon=":material/download:"))
    if account.edits_taxonomy or account.is_admin:
        pages.append(st.Page("labeling/ui/pages/settings.py", title="Settings", icon=":material/settings:"))
st.navigation(pages).run()
