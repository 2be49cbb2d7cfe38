"""The Train page's charts of a version: its loss per epoch and its reliability diagram (AppTest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from labeling.access import add_user
from learner import jobs, registry, run_worker

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()
    yield


def chart_specs(node: Any) -> list[dict]:
    """The Vega-Lite spec of every chart under ``node`` (AppTest shows charts as unknown elements)."""
    found = [json.loads(node.proto.spec)] if getattr(node, "type", None) == "vega_lite_chart" else []
    for child in getattr(node, "children", {}).values():
        found += chart_specs(child)
    return found


def leaf_layers(spec: dict) -> list[dict]:
    """The marks of a (nested) layered chart, each with the encoding it inherits."""
    if "layer" not in spec:
        return [spec]
    inherited = spec.get("encoding", {})
    return [leaf | {"encoding": inherited | leaf.get("encoding", {})} for layer in spec["layer"]
            for leaf in leaf_layers(layer | {"encoding": inherited | layer.get("encoding", {})})]


def axis_titles(spec: dict) -> set[str]:
    return {layer["encoding"][axis].get("title") for layer in leaf_layers(spec)
            for axis in ("x", "y") if axis in layer.get("encoding", {})}


def test_the_train_page_shows_the_versions_loss_curves_and_reliability(project, make_demo) -> None:
    make_demo(40)
    jobs.enqueue("train", {"config": {"max_epochs": 4, "min_steps": 10}}, engine=project.engine)
    run_worker(project=project, once=True)
    (version,) = registry.list_versions(engine=project.engine)
    found = registry.diagnostics(version.id, engine=project.engine)
    epochs = version.config["epochs"]
    assert len(found["curves"]["train_loss"]) == len(found["curves"]["val_loss"]) == epochs
    assert version.config["data"]["mined_negatives"] > 0  # both rounds ran: the curves and epochs are both rounds'
    assert (version.config["max_epochs"], version.config["min_steps"]) == (4, 10)  # the schedule asked for
    assert version.config["data"]["readings"] == {"one_reading": 40}  # which readings it learnt from
    calibrated = found["reliability"]["calibrated"]
    assert sum(b["count"] for b in calibrated) == version.metrics["n"]  # every validation example in a bin
    assert all(0 <= b["predicted"] <= 1 and 0 <= b["observed"] <= 1 for b in calibrated)

    add_user("sam", "sam-password", "scientist", engine=project.engine)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input[0].set_value("sam")
    at.text_input[1].set_value("sam-password")
    at.button[0].click().run()
    at.switch_page("labeling/ui/pages/train.py").run()
    assert not at.exception, at.exception
    titles = [axis_titles(spec) for spec in chart_specs(at.main)]
    assert {"epoch", "loss"} in titles
    assert {"predicted P(finding)", "observed fraction with a finding"} in titles
    assert any(f"Version {version.id}: reliability" in caption.value for caption in at.caption)
    (reliability,) = [spec for spec in chart_specs(at.main)
                      if {"predicted P(finding)", "observed fraction with a finding"} == axis_titles(spec)]
    leaves = leaf_layers(reliability)
    colours = [layer["encoding"]["color"]["scale"]["range"] for layer in leaves
               if "color" in layer.get("encoding", {})]
    assert colours and all(len(set(c)) == 3 for c in colours)  # three distinct colours, not two near-identical blues
    dots = [layer for layer in leaves if (layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"])
            == "circle"]
    assert dots and dots[0]["encoding"]["size"]["field"] == "count"  # each bin's count, as its dot's size
    note = [c.value for c in at.caption if "Calibration" in c.value]
    assert note and (("not kept" in note[0]) == (version.metrics["calibration_kept"] == 0.0))
