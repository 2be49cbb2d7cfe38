"""The Train page's charts of one model version: its loss curves and its reliability diagram."""

from __future__ import annotations

import streamlit as st

from learner.registry import diagnostics


def version_charts(version_id: int) -> None:
    """Training and validation loss per epoch, and predicted against observed P(finding) on the validation
    split, before and after calibration, beside the diagonal of a perfectly calibrated model."""
    found = diagnostics(version_id)
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
        right.caption(f"Version {version_id}: reliability on the validation split (on the diagonal = calibrated)")
        points = [{"predicted": p, "observed": p, "model": "perfectly calibrated"} for p in (0.0, 1.0)]
        for name in ("uncalibrated", "calibrated"):
            points += [{"predicted": b["predicted"], "observed": b["observed"], "model": name}
                       for b in reliability.get(name, [])]
        right.line_chart(points, x="predicted", y="observed", color="model",
                         x_label="predicted P(finding)", y_label="observed fraction with a finding")
