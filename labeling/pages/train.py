"""Train: retraining and model versions (the active-learning loop lands here)."""

import streamlit as st

st.title("Train")
st.info("Coming: trigger retraining, watch progress, compare model versions and roll back.")
