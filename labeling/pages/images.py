"""Images: browse the index and look at one image with its stored windows or your own."""

import streamlit as st

from labeling.catalog import get_image, list_images, render_frame
from labeling.errors import MedalError
from labeling.render import Window

st.title("Images")
modality = st.selectbox("Modality", ["All", "CT", "MR", "MG", "CR", "DX", "US", "OT"], index=0)
status = st.selectbox("Status", ["All", "unlabeled", "labeled", "skipped"], index=0)
images = list_images(modality=None if modality == "All" else modality,
                     status=None if status == "All" else status, limit=5000)
st.caption(f"{len(images)} image(s)")
if not images:
    st.info("No images yet: import files on the Import page, or run `medal demo`.")
    st.stop()

st.dataframe([image.as_json() for image in images], hide_index=True, height=240)
image_id = st.number_input("Image id", min_value=1, value=images[0].id, step=1)
try:
    image = get_image(int(image_id))
except MedalError as error:
    st.error(str(error))
    st.stop()

names = ["Default"] + [preset["name"] for preset in image.windows] + ["Custom"]
choice = st.radio("Window", names, horizontal=True)
window: Window | int | None = None
if choice == "Custom":
    left, right = st.columns(2)
    center = left.number_input("Centre", value=40.0)
    width = right.number_input("Width", value=400.0, min_value=1.0)
    window = Window(center, width)
elif choice != "Default":
    window = names.index(choice) - 1
try:
    st.image(render_frame(image, window), caption=f"{image.modality or ''} {image.rows}×{image.cols} — {image.path}")
except MedalError as error:
    st.error(str(error))
