"""Medal's Streamlit entry point: page config, the login gate and navigation only (``streamlit run app.py``)."""

import streamlit as st

from labeling.pages.parts.session import current_account, sidebar_account
from labeling.pages.parts.training import start_worker_once

st.set_page_config(page_title="Medal", page_icon="🩻", layout="wide")
start_worker_once()

if current_account() is None:
    pages = [st.Page("labeling/pages/login.py", title="Log in", icon=":material/login:")]
else:
    sidebar_account()
    pages = [
        st.Page("labeling/pages/label.py", title="Label", icon=":material/draw:", default=True),
        st.Page("labeling/pages/images.py", title="Images", icon=":material/photo_library:"),
        st.Page("labeling/pages/import_files.py", title="Import", icon=":material/upload:"),
        st.Page("labeling/pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("labeling/pages/export.py", title="Export", icon=":material/download:"),
        st.Page("labeling/pages/settings.py", title="Settings", icon=":material/settings:"),
    ]
st.navigation(pages).run()
