"""Label page widgets: drawing tool and class pickers (with keys), window/level, and the canvas."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st
from PIL import Image as PILImage
from streamlit_drawable_canvas import st_canvas

from labeling.dicom.display import Window
from labeling.labels.annotations import RegionInput
from labeling.labels.pictures import window_limits
from labeling.ui.canvas import STROKE_WIDTH, TOOLS, ClassStyle, display_scale, fill_color, regions_from_canvas
from labeling.ui.parts.text import as_text
from labeling.ui.state import label_session

TOOL_KEYS = {"box": "x", "polygon": "p", "freehand": "f"}


def pick_tool_and_class(classes: list[Any]) -> tuple[str, ClassStyle]:
    """Buttons for the drawing tool and the region class; each has its keyboard key."""
    state = label_session()
    if not classes:
        st.warning("There are no active label classes: add one in Settings.")
        st.stop()
    if not any(c.name == state.class_name for c in classes):
        state.class_name = classes[0].name
    columns = st.columns(len(TOOLS))
    for column, tool in zip(columns, TOOLS):
        kind = "primary" if state.tool == tool else "secondary"
        if column.button(tool.capitalize(), key=f"tool-{tool}", type=kind, shortcut=TOOL_KEYS[tool],
                         width="stretch"):
            state.tool = tool
            st.rerun()
    columns = st.columns(max(len(classes), 1))
    for column, item in zip(columns, classes):
        kind = "primary" if state.class_name == item.name else "secondary"
        if column.button(f":material/circle: {as_text(item.name)}", key=f"class-{item.id}", type=kind,
                         shortcut=item.key or None, width="stretch"):
            state.class_name = item.name
            st.rerun()
    current = next(c for c in classes if c.name == state.class_name)
    st.markdown(f"Drawing **{state.tool}** as **{as_text(current.name)}**")
    return state.tool, ClassStyle(current.name, current.color)


def window_controls(image: Any) -> Window | int | None:
    """The file's presets and a custom window with centre/width sliders in modality units."""
    names = ["Default"] + [preset["name"] for preset in image.windows] + ["Custom"]
    choice = st.radio("Window", names, horizontal=True, key=f"window-{image.id}", format_func=as_text)
    if choice == "Default":
        return None
    if choice != "Custom":
        return names.index(choice) - 1
    limits = window_limits(image)
    span = limits.high - limits.low
    center = st.slider(f"Centre ({limits.units})", limits.low, limits.high, float(np.clip(
        limits.start.center, limits.low, limits.high)), key=f"center-{image.id}")
    width = st.slider(f"Width ({limits.units})", 1.0, max(span * 2, 2.0), float(np.clip(
        limits.start.width, 1.0, max(span * 2, 2.0))), key=f"width-{image.id}")
    return Window(center, width)


def drawing_canvas(picture: np.ndarray, image: Any, tool: str, style: ClassStyle, classes: list[ClassStyle],
                   initial: dict[str, Any], key: str) -> list[RegionInput]:
    """The image scaled to fit, with the regions on it; returns them in original image pixels."""
    scale = display_scale(image.rows, image.cols)
    result = st_canvas(
        fill_color=fill_color(style.color) if tool != "freehand" else None, stroke_width=STROKE_WIDTH,
        stroke_color=style.color, background_image=PILImage.fromarray(picture),
        background_image_fit="contain", width=round(image.cols * scale), height=round(image.rows * scale),
        drawing_mode=TOOLS[tool], initial_drawing=initial, key=key)
    return regions_from_canvas(result.json_data, scale, classes, style.name)
