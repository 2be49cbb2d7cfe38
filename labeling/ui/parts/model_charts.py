"""The Train page's charts of one model version: its loss curves and its reliability diagram."""

from __future__ import annotations

from typing import TYPE_CHECKING

import altair as alt
import streamlit as st

from learner import diagnostics

if TYPE_CHECKING:
    from storage import Project


def version_charts(version_id: int, *, project: Project) -> None:
    """Training and validation loss per epoch, and predicted against observed P(finding) on the validation
    split, before and after calibration, beside the diagonal of a perfectly calibrated model."""
    found = diagnostics(version_id, engine=project.engine)
    losses, reliability = found["curves"], found["reliability"]
    if not losses and not reliability:
        st.caption(f"Version {version_id} was trained before loss curves and reliability were recorded.")
        return
    left, right = st.columns(2)
    if losses.get("train_loss"):
        left.caption(f"Version {version_id}: loss per epoch")
        left.line_chart([{"epoch": epoch, "training": train, "validation": val} for epoch, (train, val)
                         in enumerate(zip(losses["train_loss"], losses["val_loss"]), start=1)],
                        x="epoch", y=["training", "validation"], x_label="epoch", y_label="loss")
    if reliability:
        right.caption(f"Version {version_id}: reliability on the validation split (on the diagonal = calibrated; "
                      "a dot's size is how many examples its bin holds)")
        right.altair_chart(reliability_chart(reliability), width="stretch")
        right.caption(calibration_note(found.get("metrics", {})))


SERIES = {"perfectly calibrated": "#9e9e9e", "uncalibrated": "#f58231", "kept": "#4363d8"}


def reliability_chart(reliability: dict[str, list[dict[str, float]]]) -> alt.LayerChart:
    """Predicted against observed P(finding) per bin: the raw model in orange, the one the version keeps in
    blue (the same line when calibration did not help), each dot sized by its bin's count (in its tooltip)."""
    points = [{"predicted": p, "observed": p, "model": "perfectly calibrated", "count": 0} for p in (0.0, 1.0)]
    for name, shown in (("uncalibrated", "uncalibrated"), ("calibrated", "kept")):
        points += [{"predicted": b["predicted"], "observed": b["observed"], "model": shown,
                    "count": int(b.get("count", 0))} for b in reliability.get(name, [])]
    colour = alt.Color("model:N", scale=alt.Scale(domain=list(SERIES), range=list(SERIES.values())),
                       legend=alt.Legend(orient="bottom", title=None))
    base = alt.Chart(alt.Data(values=points)).encode(
        x=alt.X("predicted:Q", title="predicted P(finding)", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("observed:Q", title="observed fraction with a finding", scale=alt.Scale(domain=[0, 1])),
        color=colour, tooltip=["model:N", "predicted:Q", "observed:Q", "count:Q"])
    lines = base.mark_line(strokeDash=[4, 3]).transform_filter("datum.model == 'perfectly calibrated'") + \
        base.mark_line().transform_filter("datum.model != 'perfectly calibrated'")
    dots = base.mark_circle(opacity=0.85).encode(size=alt.Size("count:Q", legend=None, scale=alt.Scale(range=[20, 400]))
                                                 ).transform_filter("datum.model != 'perfectly calibrated'")
    return alt.layer(lines, dots)


def calibration_note(metrics: dict[str, float]) -> str:
    """Which probabilities the version keeps, and why, from its validation metrics."""
    if "ece_uncalibrated" not in metrics:
        return ""
    raw, kept = metrics["ece_uncalibrated"], metrics.get("ece", metrics["ece_uncalibrated"])
    fitted = metrics.get("ece_fitted", kept)
    if metrics.get("calibration_kept", 1.0):
        return (f"Calibration kept (temperature {metrics.get('temperature', 1):.2f}, "
                f"bias {metrics.get('bias', 0):.2f}): "
                f"expected calibration error {kept:.3f}, against {raw:.3f} without it.")
    return (f"Calibration not kept: fitted, it binned worse ({fitted:.3f}) than the raw model ({raw:.3f}) on this "
            "validation split, so the version shows the raw probabilities.")
