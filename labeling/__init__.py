"""Medal labeling: DICOM reading and rendering, import, the label queue and the Streamlit pages."""
