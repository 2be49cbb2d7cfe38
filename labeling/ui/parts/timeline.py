"""A patient's timeline as the Images page shows it: one table row per study, and the model's curve."""

from __future__ import annotations

import streamlit as st

from labeling.labels.catalog import TimelineStudy
from labeling.ui.state import open_in_label


def timeline_table(timeline: list[TimelineStudy]) -> None:
    """The studies as a table (dates in order) and, once a model scored them, its highest probability over time."""
    st.dataframe([{
        "study date": study.study_date, "description": study.description,
        "modalities": ", ".join(study.modalities), "images": study.images, "labeled": study.labeled,
        "labels": ", ".join(f"{label or 'regions only'} ×{n}" for label, n in study.image_labels.items()),
        "max model probability": None if study.max_probability is None else round(study.max_probability, 3),
    } for study in timeline], hide_index=True)
    scored = [study for study in timeline if study.max_probability is not None]
    if scored:
        st.line_chart({str(study.study_date): study.max_probability for study in scored})
    else:
        st.caption("Model predictions appear here once a model has scored this patient's images.")


def compare_buttons(timeline: list[TimelineStudy]) -> None:
    """For every study after the first: open it in Label with the prior study beside it."""
    later = [study for study in timeline[1:] if study.first_image_id is not None]
    if not later:
        return
    st.caption("Open a follow-up study in Label with its prior beside it:")
    for column, study in zip(st.columns(min(len(later), 4)) * (len(later) // 4 + 1), later):
        if column.button(f"Compare {study.study_date or 'study'} with its prior", key=f"prior-{study.first_image_id}"):
            open_in_label(study.first_image_id, with_prior=True)
            st.switch_page("labeling/ui/pages/label.py")
