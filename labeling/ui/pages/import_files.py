"""Import: upload files or a zip archive (admins: an allowed folder on the server), or search the configured PACS
over DICOMweb; see what was refused and why."""

import streamlit as st

from labeling.intake import import_paths, import_problems, save_uploads, server_folder
from labeling.ui import the_project
from labeling.ui.access import require_account
from labeling.ui.parts import dicomweb_import, show_error
from storage import MedalError

project = the_project()
account = require_account(project=project)
st.title("Import")
if not account.imports_data:
    st.info("Data scientists and admins import images; ask one of them.")
    st.stop()
uploads = st.file_uploader("DICOM, PNG, JPEG, TIFF files or zip archives", accept_multiple_files=True)
folder = st.text_input("Or a folder on the server (admins)", disabled=not account.is_admin,
                       placeholder="/data/pacs-export")
if st.button("Import", type="primary", disabled=not (uploads or folder)):
    bar = st.progress(0.0, text="Importing…")
    try:
        paths = [server_folder(folder, actor=account.name,
                               engine=project.engine)] if folder and account.is_admin else []
        paths += [save_uploads(((u.name, u) for u in uploads), actor=account.name, project=project)] if uploads else []
        report = import_paths(paths, actor=account.name, progress=lambda done, total: bar.progress(
            done / max(total, 1), text=f"{done} / {total} files"), project=project)
    except MedalError as error:
        show_error(error)
    else:
        st.success(f"{report.images} new image(s) from {report.imported} file(s); "
                   f"{report.duplicates} already indexed; {len(report.rejected)} refused.")

dicomweb_import(account, project=project)

st.subheader("Refused files")
problems = import_problems(engine=project.engine)
if problems:  # file names and paths may name patients: only roles that see identity see them
    st.dataframe([({"file": p.path} if account.sees_identity else {}) | {"reason": p.reason, "when": p.detected_at}
                  for p in problems], hide_index=True)
else:
    st.caption("None.")
