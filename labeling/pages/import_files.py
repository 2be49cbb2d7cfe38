"""Import: upload files or a zip archive; see what was refused and why."""

import streamlit as st

from labeling.errors import MedalError
from labeling.ingest import import_paths, import_problems
from labeling.uploads import save_uploads

st.title("Import")
uploads = st.file_uploader("DICOM, PNG, JPEG, TIFF files or zip archives", accept_multiple_files=True)
if uploads and st.button("Import", type="primary"):
    bar = st.progress(0.0, text="Importing…")
    try:
        folder = save_uploads((upload.name, upload.getvalue()) for upload in uploads)
        report = import_paths([folder], progress=lambda done, total: bar.progress(
            done / max(total, 1), text=f"{done} / {total} files"))
    except MedalError as error:
        st.error(str(error))
    else:
        st.success(f"{report.images} new image(s) from {report.imported} file(s); "
                   f"{report.duplicates} already indexed; {len(report.rejected)} refused.")

st.subheader("Refused files")
problems = import_problems()
if problems:
    st.dataframe([{"file": p.path, "reason": p.reason, "when": p.detected_at} for p in problems], hide_index=True)
else:
    st.caption("None.")
