"""The Team reading page's panels: the reading plan's form, and how readers agree (tables, a κ matrix and the
distribution of matched regions' Dice)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import streamlit as st

from labeling.labels import DISAGREEING, AgreementReport, ReadingPlan, current_plan, set_reading_plan

if TYPE_CHECKING:
    from labeling.access import Account
    from storage import Project


def plan_form(account: Account, *, project: Project) -> None:
    """The reading plan; scientists and admins change it (the library checks the right again)."""
    plan = current_plan(engine=project.engine)
    with st.form("reading-plan"):
        left, middle, right = st.columns(3)
        readers = left.radio("Readers per image", (1, 2, 3), index=plan.readers - 1, horizontal=True)
        qa = middle.number_input("QA sample (share of single-read images read twice)", 0.0, 0.5, plan.qa_fraction,
                                 step=0.05, format="%.2f")
        blinded = right.toggle("Blinded", plan.blinded, help="Readers see no other reading until the image is done")
        first = right.toggle("Second readings before new images", plan.second_readings_first)
        disagreeing = left.selectbox("Training, where readings disagree (until a consensus)", DISAGREEING,
                                     index=DISAGREEING.index(plan.disagreeing))
        if st.form_submit_button("Save the plan", disabled=not account.runs_training):
            set_reading_plan(ReadingPlan(readers, blinded, qa, first, disagreeing), engine=project.engine,
                             actor=account.name)
            st.toast("Reading plan saved.")


def agreement_tables(report: AgreementReport) -> None:
    """Each pair of readers, and each reader against the consensus."""
    st.caption(f"{len(report.readers)} reader(s); {report.images_read_twice} image(s) read by two or more; "
               f"Krippendorff's α on image labels {report.alpha.as_text()}")
    st.dataframe([{"readers": f"{p.first} / {p.second}", "images": p.images, "Cohen's κ [95% CI]":
                   p.label_kappa.as_text(), "same label": p.label_agreement, "findings both": p.findings["both"],
                   "only first": p.findings["only_first"], "only second": p.findings["only_second"],
                   "regions matched": p.regions.matched, "region Dice [95% CI]": p.regions.dice.as_text()}
                  for p in report.pairs], hide_index=True)
    if report.against_consensus:
        st.dataframe([{"reader": e.reader, "images": e.pair.images, "sensitivity [95% CI]": e.sensitivity.as_text(),
                       "precision [95% CI]": e.precision.as_text(), "region Dice": e.pair.regions.dice.as_text()}
                      for e in report.against_consensus], hide_index=True)


def kappa_matrix(report: AgreementReport) -> alt.LayerChart:
    """Cohen's κ of every pair of readers, both ways round (1 on the diagonal), as a coloured matrix."""
    cells = [{"reader": name, "with": name, "kappa": 1.0} for name in report.readers]
    for pair in report.pairs:
        for a, b in ((pair.first, pair.second), (pair.second, pair.first)):
            cells.append({"reader": a, "with": b, "kappa": pair.label_kappa.value})
    base = alt.Chart(alt.Data(values=cells)).encode(x=alt.X("reader:N", title=None), y=alt.Y("with:N", title=None))
    return (base.mark_rect().encode(color=alt.Color("kappa:Q", scale=alt.Scale(domain=[-1, 1], scheme="redblue"),
                                                    title="Cohen's κ"))
            + base.mark_text().encode(text=alt.Text("kappa:Q", format=".2f")))


def dice_histogram(report: AgreementReport) -> alt.Chart:
    """How well matched regions overlap: every matched pair's Dice, over every pair of readers."""
    values = [{"dice": dice} for pair in report.pairs for dice in pair.dice_values]
    return alt.Chart(alt.Data(values=values)).mark_bar().encode(
        x=alt.X("dice:Q", bin=alt.Bin(extent=[0, 1], step=0.1), title="Dice of matched regions"),
        y=alt.Y("count():Q", title="pairs of regions"))
