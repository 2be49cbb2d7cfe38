"""Issue 22 (12): what a tampered viewer reports (wrong-typed coordinates, an image key "²", NaN, strings,
odd actions and outline requests) never crashes the annotator's Label page; a bad region is not taken, and
nothing of it is saved."""

from __future__ import annotations

import pytest

from labeling.labels import list_annotations
from labeling.ui.parts.reading_station import VIEWER_KEY
from tests.support.pages import button, label_state, logged_in, rect

ODD_REGIONS = [
    {"label": "Cancerous", "shape": "rect", "points": [["-Infinity", 0], ["Infinity", 30]]},
    {"label": "Cancerous", "shape": "polygon", "points": [[1, 2], [None, 3], [5, 6]]},
    {"label": "Cancerous", "shape": "polygon", "points": [[1, 2], [float("nan"), 3], [5, 6]]},
    {"label": "Cancerous", "shape": "polygon", "points": "10,10 20,20"},
    {"label": ["Cancerous"], "shape": "rect", "points": [[1, 1], [9, 9]]},
    {"label": "Cancerous", "shape": "circle", "points": [[1, 1], [9, 9]]},
    {"label": "Cancerous", "shape": "polygon", "points": [[True, 1], [9, 9], [3, 3]]},
    "not a region",
]


@pytest.mark.parametrize("by_image_key", ["²", "own"])
def test_odd_reports_leave_the_page_working_and_save_nothing_of_them(project, make_demo, by_image_key: str) -> None:
    make_demo(0)
    at = logged_in(project=project)
    state = label_state(at)
    shown = state.image_id
    key = str(shown) if by_image_key == "own" else by_image_key
    at.session_state[VIEWER_KEY] = {
        "regions": {"revision": state.revision, "image_id": shown,
                    "by_image": {key: ODD_REGIONS + [rect(10, 10, 20, 20)], "x1": [rect(1, 1, 5, 5)]}},
        "window": {"modality": "CT", "center": "40", "width": None},
        "ui": {"nonce": 5, "tool": ["box"], "class_name": {"a": 1}, "image_label": 3},
        "action": {"type": "explode", "nonce": "n", "image_id": "²"},
        "outline": {"nonce": "o1", "image_id": "²", "revision": state.revision, "box": ["a", None], "window": "x",
                    "label": None},
    }
    at.run()
    assert not at.exception, at.exception
    taken = label_state(at).regions_of(shown)
    assert [r.points for r in taken] == ([[[10, 10], [30, 10], [30, 30], [10, 30]]] if by_image_key == "own" else [])
    button(at, "Save & next").click().run()
    assert not at.exception, at.exception
    saved = list_annotations(engine=project.engine, annotator="ann")
    if by_image_key == "own":
        (annotation,) = saved
        assert annotation.image_id == shown and len(annotation.regions) == 1
    else:
        assert saved == [] and any("Draw a region" in e.value for e in at.error)
