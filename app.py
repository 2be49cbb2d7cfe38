"""Medal's Streamlit entry point: page config and navigation only (``streamlit run app.py``)."""

import streamlit as st

st.set_page_config(page_title="Medal", page_icon="🩻", layout="wide")

pages = [
    st.Page("labeling/pages/images.py", title="Images", icon="🖼️", default=True),
    st.Page("labeling/pages/import_files.py", title="Import", icon="📥"),
]
st.navigation(pages).run()
