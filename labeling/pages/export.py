"""Export: labeled datasets for training elsewhere (COCO, masks, DICOM SEG, CSV)."""

import streamlit as st

st.title("Export")
st.info("Coming: export COCO, PNG masks with a manifest, DICOM SEG and CSV, de-identified on request.")
