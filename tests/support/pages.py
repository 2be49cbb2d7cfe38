"""The Label page and its neighbours in AppTest: log in, draw in the viewer as it reports, read the page's state."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from labeling.access import add_user
from labeling.labels import RegionInput
from labeling.ui import LabelSession
from labeling.ui.parts.reading_station import VIEWER_KEY
from labeling.ui.state import LABEL_KEY
from storage import Project

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def logged_in(name: str = "ann", role: str = "annotator", *, project: Project) -> AppTest:
    add_user(name, f"{name}-password", role, engine=project.engine)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input[0].set_value(name)
    at.text_input[1].set_value(f"{name}-password")
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def square(x: float, y: float, side: float = 30, label: str = "Cancerous") -> RegionInput:
    """A square region to save, top-left corner at (x, y)."""
    return RegionInput(label, "rect", [[x, y], [x + side, y], [x + side, y + side], [x, y + side]])


def ann_and_bob_disagree(project: Project) -> None:
    """Annotators ann and bob on a demo project; on image 1 ann saw nothing (healthy), bob a nodule (cancerous)."""
    from labeling.labels import save_annotation

    for name in ("ann", "bob"):
        add_user(name, f"{name}-password", "annotator", engine=project.engine)
    save_annotation(1, "ann", [], image_label="healthy", engine=project.engine)
    save_annotation(1, "bob", [square(20, 20)], image_label="cancerous", engine=project.engine)


def rect(x: float, y: float, w: float, h: float, label: str = "Cancerous") -> dict:
    return {"label": label, "shape": "rect", "points": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]}


def report_regions(at: AppTest, by_image: dict[int, list[dict]]) -> None:
    """What the viewer sends after an edit: every edited slice's regions, for the revision it was given."""
    at.session_state[VIEWER_KEY] = {"regions": {"revision": label_state(at).revision,
                                                "image_id": label_state(at).image_id,
                                                "by_image": {str(k): v for k, v in by_image.items()}}}
    at.run()


def draw_rect(at: AppTest, x: float, y: float, w: float, h: float, label: str = "Cancerous") -> None:
    """A box drawn in the viewer on the image on screen (image pixels)."""
    report_regions(at, {label_state(at).image_id: [rect(x, y, w, h, label)]})


def viewer_data(at: AppTest) -> dict:
    """The data the page gave the viewer on its last run."""
    (element,) = [e for e in at.main if getattr(e, "proto", None) is not None
                  and type(e.proto).__name__ == "BidiComponent" and e.proto.component_name == "medal.viewer"]
    return json.loads(element.proto.json)


def ask_outline(at: AppTest, box: list[float], nonce: str, **request: object) -> None:
    """A box drawn with the viewer's Outline tool on the image on screen: the trigger the viewer sends, beside
    what its state holds already (its last regions report)."""
    state = label_state(at)
    before = at.session_state[VIEWER_KEY] if VIEWER_KEY in at.session_state else None
    kept = {"regions": before["regions"]} if before and "regions" in before else {}
    at.session_state[VIEWER_KEY] = {**kept, "outline": {
        "nonce": nonce, "image_id": state.image_id, "revision": state.revision, "box": box, "window": None,
        "label": "Cancerous", **request}}
    at.run()


def label_state(at: AppTest) -> LabelSession:
    """The Label page's session object of a running app."""
    return at.session_state[LABEL_KEY]


def follow_link(at: AppTest, label: str) -> int:
    """Follow the first page link whose label starts with ``label`` as a browser would (its page, with its query
    parameters); returns the image id it opens."""
    from urllib.parse import parse_qs

    link = next(e.proto for e in at.get("page_link") if e.proto.label.startswith(label))
    params = {key: values[0] for key, values in parse_qs(link.query_string).items()}
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("labeling/ui/pages/label.py").run()
    return int(params["open"])


def button(at: AppTest, label: str):  # noqa: ANN201 (an AppTest element)
    return next(b for b in at.button if b.label == label)
