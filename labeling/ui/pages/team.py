"""Team reading: the reading plan (readers per image, blinding, QA sample) and how the readers agree — for
reviewers, data scientists and admins."""

import streamlit as st

from labeling.labels import agreement_report
from labeling.ui import the_project
from labeling.ui.access import require_account
from labeling.ui.parts import agreement_tables, dice_histogram, kappa_matrix, plan_form, show_error
from storage import MedalError

project = the_project()
account = require_account(project=project)
st.title("Team reading")
if not account.sees_agreement:
    st.info("Reviewers, data scientists and admins see the reading plan and how readers agree.")
    st.stop()
try:
    plan_form(account, project=project)
    report = agreement_report(engine=project.engine, actor=account.name)
except MedalError as error:
    show_error(error)
    st.stop()
st.subheader("Agreement")
if not report.pairs:
    st.caption("No image has been read by two readers yet: set two readers per image, or a QA sample, above.")
    st.stop()
agreement_tables(report)
left, right = st.columns(2)
left.caption("Cohen's κ on image labels, per pair of readers")
left.altair_chart(kappa_matrix(report), width="stretch")
right.caption("Dice of matched regions")
right.altair_chart(dice_histogram(report), width="stretch")
