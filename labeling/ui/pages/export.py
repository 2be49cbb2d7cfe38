"""Export: labeled datasets as COCO, PNG masks, DICOM SEG and CSV, de-identified on request, as a zip;
admins also send the SEGs back to the configured PACS and see and delete past exports."""

import streamlit as st

from labeling.access import list_users
from labeling.export import (
    FORMATS,
    READING_NAMES,
    READINGS,
    ExportOptions,
    export_dataset,
    new_export_folder,
    sweep_zips,
)
from labeling.ui import the_project
from labeling.ui.access import require_account
from labeling.ui.parts import (
    CARD_KEY,
    JOB_KEY,
    NAME_KEY,
    download_button,
    export_job_failure,
    export_job_progress,
    past_exports,
    send_to_pacs,
    show_error,
)
from learner import active_summary, export_in_background, queue_export
from storage import MedalError

project = the_project()
account = require_account(project=project)
st.title("Export")
if not account.exports_data:
    st.info("Data scientists and admins export datasets; ask one of them.")
    st.stop()
sweep_zips(project=project)  # zips a crash or an older version left in the exports folder, once past their retention

with st.form("export"):
    formats = st.multiselect("Formats", FORMATS, default=list(FORMATS),
                             help="coco: JSON + 8-bit images · masks: PNG label maps + manifest.csv · "
                                  "seg: DICOM SEG next to its sources · csv: image labels")
    deidentify = st.toggle("De-identify (DICOM PS3.15 Annex E basic profile)", value=True,
                           disabled=not account.sees_identity,
                           help=None if account.sees_identity else "Only admins export identifiable data.")
    left, middle, right = st.columns(3)
    split = left.text_input("Split by patient (train,val,test %)", "70,15,15")
    annotator = middle.selectbox("Annotator", ["everyone", *[u["name"] for u in list_users(engine=project.engine)]])
    since = right.date_input("Labels saved since", value=None)
    include_burned_in = st.checkbox("Keep images that may show identity in their pixels (burned-in text, "
                                    "screen captures, faces, photographs, US, PNG/JPEG) in a de-identified export")
    pseudonymise = st.checkbox("Pseudonymise annotators (stable pseudonyms instead of names in every file)")
    readings = st.radio("Readings", READINGS, horizontal=True, format_func=READING_NAMES.get)
    submitted = st.form_submit_button("Export", type="primary")

if submitted:
    bar = st.progress(0.0, text="Exporting…")
    try:
        options = ExportOptions(formats=formats, deidentify=deidentify or not account.sees_identity,
                                split=split, annotator=None if annotator == "everyone" else annotator,
                                since=since, include_burned_in=include_burned_in,
                                pseudonymise_annotators=pseudonymise, readings=readings)
        if export_in_background(engine=project.engine):  # a large export: the worker runs it, the page follows
            st.session_state[JOB_KEY] = queue_export(options, actor=account.name, engine=project.engine)
            report = None
        else:
            report = export_dataset(new_export_folder(project=project), options,
                                    model=active_summary(engine=project.engine), actor=account.name,
                                    progress=lambda done, total: bar.progress(done / total, text=f"{done} of {total}"),
                                    project=project)
    except MedalError as error:
        bar.empty()
        show_error(error)
        st.stop()
    st.session_state[NAME_KEY] = report.out.name if report else None
    st.session_state[CARD_KEY] = report.card if report else None
    bar.empty()

export_job_progress(account, project=project)
export_job_failure()
card = st.session_state.get(CARD_KEY)
if card:
    images = card["counts"]["images"]
    st.success(f"Exported {sum(images.values())} image(s): {', '.join(card['formats'])}"
               f"{' · de-identified' if card['deidentified'] else ''}.")
    st.dataframe([{"split": s, "images": n, "patients": card["counts"]["patients"][s]} for s, n in images.items()],
                 hide_index=True)
    skipped = [{"image": i["image"], "left out because": i["reason"]} for i in card["left_out"]]
    skipped += [{"image": i["image"], "no SEG because": i["reason"]}
                for i in (card["files"].get("seg") or {}).get("skipped", [])]
    if skipped:
        st.dataframe(skipped, hide_index=True)
    download_button()
send_to_pacs(account, project=project)
past_exports(account, project=project)
