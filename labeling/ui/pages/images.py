"""Images: filter the index, browse thumbnails, open one in Label, and follow a patient over time."""

import streamlit as st

from labeling.access import list_users
from labeling.labels import (
    ORDERS,
    annotator_choices,
    blinded_for,
    get_image,
    image_row,
    images_with_proposals,
    list_images,
    patient_keys,
    patient_timeline,
    proposal_threshold,
)
from labeling.ui import open_in_label, the_project
from labeling.ui.access import require_account
from labeling.ui.parts import compare_buttons, show_error, thumbnail_grid, timeline_table
from learner import active_version
from storage import MedalError

ALL = "All"
ORDER_NAMES = {"id": "Image id", "probability": "Model probability, highest first",
               "uncertainty": "Model uncertainty, highest first"}
project = the_project()
account = require_account(project=project)
sees = account.sees_identity  # what every other role sees: labeling.labels.identity
st.title("Images")
filters = st.columns(5)
modality = filters[0].selectbox("Modality", [ALL, "CT", "MR", "MG", "CR", "DX", "US", "XA", "OT"])
status = filters[1].selectbox("Status", [ALL, "unlabeled", "labeled", "skipped"])
users = [u["name"] for u in list_users(engine=project.engine)]
annotator = filters[2].selectbox("Annotator", [ALL, *annotator_choices(users, account.name, sees_identity=sees)])
patients = patient_keys(engine=project.engine)
patient = filters[3].selectbox("Patient", [ALL] + patients)
dates = filters[4].date_input("Study dates", value=(), help="Pick a first and a last date") if sees else ()
since, until = (dates[0], dates[-1]) if len(dates) else (None, None)
model = active_version(engine=project.engine)
order_column, proposals_column, jump, go = st.columns([2, 2, 1.2, 0.8], vertical_alignment="bottom")
order = order_column.selectbox("Order", list(ORDERS), format_func=ORDER_NAMES.get, disabled=model is None,
                               help=None if model else "The model's orders come with its first version.")
only_proposals = proposals_column.checkbox("Only images with proposals", disabled=model is None)
wanted = jump.number_input("Image id", min_value=1, step=1, value=None, placeholder="Open image id")
if go.button("Open", disabled=wanted is None):
    try:
        open_in_label(get_image(int(wanted), engine=project.engine).id)
        st.switch_page("labeling/ui/pages/label.py")
    except MedalError as error:
        show_error(error)
images = list_images(modality=None if modality == ALL else modality, status=None if status == ALL else status,
                     annotator=None if annotator == ALL else annotator,
                     patient_key=None if patient == ALL else patient, since=since, until=until, limit=5000,
                     model_version_id=model.id if model else None, order=order if model else "id",
                     blind_for=account.name if blinded_for(account.name, engine=project.engine) else None,
                     engine=project.engine)
if model and only_proposals:
    proposed = images_with_proposals([i.id for i in images], model.id, proposal_threshold(model.metrics or {}),
                                     engine=project.engine)
    images = [image for image in images if image.id in proposed]
st.caption(f"{len(images)} image(s)")
if not images:
    st.info("No images match. Import files on the Import page, or run `medal demo`.")
else:
    gallery, table = st.tabs(["Thumbnails", "Table"])
    with gallery:
        thumbnail_grid(images, sees_identity=sees, project=project)
    with table:
        st.dataframe([image_row(image, sees_identity=sees) for image in images], hide_index=True, height=360)

st.subheader("Patient timeline")
if not patients:
    st.caption("No patients yet.")
    st.stop()
chosen = st.selectbox("Patient key", patients, index=patients.index(patient) if patient in patients else 0)
timeline = patient_timeline(chosen, model_version_id=model.id if model else None, engine=project.engine)
timeline_table(timeline, sees_identity=sees)
compare_buttons(timeline, sees_identity=sees)
