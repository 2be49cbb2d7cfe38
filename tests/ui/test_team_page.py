"""The Team reading page (AppTest): a data scientist sets the reading plan, and sees how two readers agree."""

from __future__ import annotations

import json

import pytest

from labeling.access import add_user
from labeling.labels import RegionInput, current_plan, save_annotation
from tests.support.pages import logged_in


def chart_specs(node) -> list[dict]:
    found = [json.loads(node.proto.spec)] if getattr(node, "type", None) == "vega_lite_chart" else []
    for child in getattr(node, "children", {}).values():
        found += chart_specs(child)
    return found


def test_a_scientist_sets_the_plan_and_sees_the_agreement(project, make_demo) -> None:
    make_demo(0)
    at = logged_in("sam", "scientist", project=project)
    at.switch_page("labeling/ui/pages/team.py").run()
    assert not at.exception, at.exception
    assert any("No image has been read by two readers yet" in c.value for c in at.caption)
    at.radio[0].set_value(2)
    at.button[0].click().run()  # the form's submit button
    assert current_plan(engine=project.engine).readers == 2
    square = RegionInput("Cancerous", "rect", [[10, 10], [30, 10], [30, 30], [10, 30]])
    for name in ("ann", "bob"):
        add_user(name, f"{name}-password", "annotator", engine=project.engine)
    readings = {1: ("cancerous", "cancerous"), 2: ("healthy", "cancerous"), 3: ("healthy", "healthy")}
    for image_id, labels in readings.items():
        save_annotation(image_id, "ann", [square], image_label=labels[0], engine=project.engine)
        save_annotation(image_id, "bob", [square], image_label=labels[1], engine=project.engine)
    at.run()
    assert not at.exception, at.exception
    pairs = at.dataframe[0].value
    assert list(pairs["readers"]) == ["ann / bob"] and list(pairs["images"]) == [3]
    assert str(pairs["Cohen's κ [95% CI]"][0]).startswith("0.40")  # 2 of 3 agree; chance 5/9: κ = 0.4
    specs = chart_specs(at.main)
    assert len(specs) == 2 and any("Cohen's κ" in json.dumps(spec, ensure_ascii=False) for spec in specs)


def test_an_annotator_does_not_see_the_agreement(project, make_demo) -> None:
    make_demo(0)
    at = logged_in(project=project)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in an annotator's navigation
        at.switch_page("labeling/ui/pages/team.py")
