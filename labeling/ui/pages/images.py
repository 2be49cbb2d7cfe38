"""Images: filter the index, browse thumbnails, open one in Label, and follow a patient over time."""

import streamlit as st

from labeling.labels.accounts import list_users
from labeling.labels.catalog import list_images, patient_keys, patient_timeline
from labeling.labels.identity import annotator_choices, image_row
from labeling.ui.parts.gallery import thumbnail_grid
from labeling.ui.parts.session import require_account
from labeling.ui.parts.timeline import compare_buttons, timeline_table
from learner.registry import active_version

ALL = "All"
account = require_account()
sees = account.sees_identity  # what every other role sees: labeling.labels.identity
st.title("Images")
filters = st.columns(5)
modality = filters[0].selectbox("Modality", [ALL, "CT", "MR", "MG", "CR", "DX", "US", "XA", "OT"])
status = filters[1].selectbox("Status", [ALL, "unlabeled", "labeled", "skipped"])
annotator = filters[2].selectbox("Annotator", [ALL, *annotator_choices([u["name"] for u in list_users()], account.name,
                                                                     sees_identity=sees)])
patients = patient_keys()
patient = filters[3].selectbox("Patient", [ALL] + patients)
dates = filters[4].date_input("Study dates", value=(), help="Pick a first and a last date") if sees else ()
since, until = (dates[0], dates[-1]) if len(dates) else (None, None)
images = list_images(modality=None if modality == ALL else modality, status=None if status == ALL else status,
                     annotator=None if annotator == ALL else annotator,
                     patient_key=None if patient == ALL else patient, since=since, until=until, limit=5000)
st.caption(f"{len(images)} image(s)")
if not images:
    st.info("No images match. Import files on the Import page, or run `medal demo`.")
else:
    gallery, table = st.tabs(["Thumbnails", "Table"])
    with gallery:
        thumbnail_grid(images, sees_identity=sees)
    with table:
        st.dataframe([image_row(image, sees_identity=sees) for image in images], hide_index=True, height=360)

st.subheader("Patient timeline")
if not patients:
    st.caption("No patients yet.")
    st.stop()
chosen = st.selectbox("Patient key", patients, index=patients.index(patient) if patient in patients else 0)
model = active_version()
timeline = patient_timeline(chosen, model_version_id=model.id if model else None)
timeline_table(timeline, sees_identity=sees)
compare_buttons(timeline, sees_identity=sees)
