"""A patient's timeline as the Images page shows it: one table row per study, and the model's curve. Roles
without identity rights see each study by its interval from the first, without dates or descriptions."""

from __future__ import annotations

import streamlit as st

from labeling.labels import TimelineStudy, study_name, timeline_rows
from labeling.ui import label_link
from labeling.ui.parts.text import as_text


def timeline_table(timeline: list[TimelineStudy], *, sees_identity: bool) -> None:
    """The studies as a table (in order) and, once a model scored them, its highest probability over time."""
    rows = timeline_rows(timeline, sees_identity=sees_identity)
    st.dataframe(rows, hide_index=True)
    scored = [(row["study"], study.max_probability) for row, study in zip(rows, timeline)
              if study.max_probability is not None]
    if scored:
        st.line_chart({str(name): probability for name, probability in scored})
    else:
        st.caption("Model predictions appear here once a model has scored this patient's images.")


def compare_buttons(timeline: list[TimelineStudy], *, sees_identity: bool) -> None:
    """For every study after the first: open it in Label with the prior study beside it."""
    later = [study for study in timeline[1:] if study.first_image_id is not None]
    if not later:
        return
    first = next((study.study_date for study in timeline if study.study_date), None)
    st.caption("Open a follow-up study in Label with its prior beside it:")
    for column, study in zip(st.columns(min(len(later), 4)) * (len(later) // 4 + 1), later):
        name = study_name(study.study_date, first, sees_identity=sees_identity)
        column.page_link("labeling/ui/pages/label.py", label=f"Compare {as_text(name)} with its prior",
                         icon=":material/compare:", query_params=label_link(study.first_image_id, with_prior=True))
