"""Medal's viewer on the Label page: a Streamlit components-v2 component in plain JavaScript (shipped as
``viewer.html``/``viewer.css`` and the entry ``viewer.js`` next to this file, which imports the ES modules of
``modules/`` from Medal's own route ``/medal/viewer/``; no npm build, nothing from a CDN).

The browser does the pixel work — window/level from modality values fetched from ``/medal/pixels/ID``,
zoom, pan, stack scroll with prefetch, drawing — and sends back shapes in image pixels and discrete
actions. Python stays the source of truth for labels. ``CONTRACT.md`` is the contract between the two.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from labeling.labels import SHAPES, RegionInput

__all__ = ["ViewerEvents", "data_url", "parse_events", "show_viewer", "standard_presets"]  # the face other rooms use

_HERE = Path(__file__).parent
STANDARD_CT_PRESETS = (("Lung", -600.0, 1500.0), ("Mediastinum", 40.0, 400.0), ("Bone", 400.0, 1800.0),
                       ("Brain", 40.0, 80.0))
ACTIONS = ("save", "skip", "back", "undo")
MAX_SENT_POINTS = 20_000  # more points than any drawing has (the viewer simplifies freehand and brush outlines)

_component = st.components.v2.component(
    "medal.viewer", html=(_HERE / "viewer.html").read_text(), css=(_HERE / "viewer.css").read_text(),
    js=(_HERE / "viewer.js").read_text())


@dataclass
class ViewerEvents:
    """What the browser sent back on this run."""

    regions: dict[int, list[RegionInput]] | None = None  # per slice image id; None: no edit reported yet
    revision: int | None = None  # the revision the edits started from
    regions_image_id: int | None = None  # the image (queue item) the viewer showed when it sent them
    window: dict[str, Any] | None = None  # {"modality", "center", "width"}
    ui: dict[str, Any] = field(default_factory=dict)  # {"tool", "class_name", "image_label"}
    action: str | None = None  # "save" | "skip" | "back" | "undo", once
    action_nonce: str | None = None  # tells one key press from the next
    action_image_id: int | None = None  # the image the viewer showed when the key was pressed
    outline: dict[str, Any] | None = None  # a quick-outline request, once: {"nonce", "image_id", "box", ...}


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def standard_presets(modality: str | None, file_windows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The standard CT windows (lung, mediastinum, bone, brain) for CT, none for other modalities. One the file
    has already (same name, any case, and the same centre and width) is not offered twice; one whose name the
    file uses for other values is offered as "Lung (standard)"."""
    if modality != "CT":
        return []
    own = {str(w.get("name") or "").strip().lower(): (float(w["center"]), float(w["width"]))
           for w in file_windows or [] if "center" in w and "width" in w}
    presets = []
    for name, center, width in STANDARD_CT_PRESETS:
        if own.get(name.lower()) == (center, width):
            continue
        presets.append({"name": f"{name} (standard)" if name.lower() in own else name, "center": center,
                        "width": width})
    return presets


def show_viewer(data: dict[str, Any], key: str) -> ViewerEvents:
    """Mount the viewer with ``data`` (see CONTRACT.md) and read what it reported."""
    result = _component(data=data, key=key, on_regions_change=_ignore, on_window_change=_ignore,
                        on_ui_change=_ignore, on_action_change=_ignore, on_outline_change=_ignore,
                        height="content")
    return parse_events(result)


def _ignore() -> None:
    """Values are read from the component's result; the callbacks only declare them."""


def parse_events(result: Any) -> ViewerEvents:
    """The component's state and trigger values as typed events (unknown shapes and classes are dropped)."""
    events = ViewerEvents()
    regions = _get(result, "regions")
    if isinstance(regions, dict) and isinstance(regions.get("by_image"), dict):
        events.revision = regions.get("revision") if isinstance(regions.get("revision"), int) else None
        events.regions_image_id = _int(regions.get("image_id"))
        events.regions = {int(image_id): _regions(items) for image_id, items in regions["by_image"].items()
                          if _ID.fullmatch(str(image_id))}
    window = _get(result, "window")
    if isinstance(window, dict) and all(isinstance(window.get(k), (int, float)) for k in ("center", "width")):
        events.window = window
    ui = _get(result, "ui")
    events.ui = ui if isinstance(ui, dict) else {}
    action = _get(result, "action")
    if isinstance(action, dict) and action.get("type") in ACTIONS:
        events.action, events.action_nonce = action["type"], str(action.get("nonce") or "")
        events.action_image_id = _int(action.get("image_id"))
    events.outline = _outline_request(_get(result, "outline"))
    return events


def _outline_request(request: Any) -> dict[str, Any] | None:
    """A quick-outline request as sent (CONTRACT.md); the box is checked by the library, which says what is
    wrong with it. None without a nonce to tell it from the last one."""
    if not isinstance(request, dict) or not isinstance(request.get("nonce"), str) or not request["nonce"]:
        return None
    image_id, revision, window = request.get("image_id"), request.get("revision"), request.get("window")
    if isinstance(window, dict) and all(isinstance(window.get(k), (int, float)) for k in ("center", "width")):
        window = (float(window["center"]), float(window["width"]))
    else:
        window = None
    return {"nonce": request["nonce"], "image_id": image_id if isinstance(image_id, int) else None,
            "box": request.get("box"), "window": window, "label": str(request.get("label") or ""),
            "revision": revision if isinstance(revision, int) else None}


_ID = re.compile(r"[0-9]{1,18}")  # image ids as the viewer sends them (ASCII digits: "²".isdigit() is True)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _get(result: Any, name: str) -> Any:
    if result is None:
        return None
    return result.get(name) if hasattr(result, "get") else getattr(result, name, None)


def _regions(items: Any) -> list[RegionInput]:
    """The regions of one slice as sent; one whose class is not a name or whose points are not all finite numbers
    is left out (the library checks the rest: bounds, vertex counts), and so is one too large to be a drawing."""
    regions = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("shape") not in SHAPES or not isinstance(item.get("label"), str):
            continue
        raw = item.get("points")
        if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_SENT_POINTS:
            continue
        points = [[p[0], p[1]] for p in raw if isinstance(p, (list, tuple)) and len(p) >= 2]
        if len(points) != len(raw) or not all(_finite(v) for point in points for v in point):
            continue
        regions.append(RegionInput(item["label"], item["shape"], [[float(x), float(y)] for x, y in points]))
    return regions


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
