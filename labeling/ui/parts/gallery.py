"""A grid of thumbnails, each with a link that opens the image on the Label page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from labeling.labels import get_image, image_caption, thumbnail_png
from labeling.ui import label_link
from labeling.ui.parts.text import as_text
from labeling.ui.viewer import data_url
from storage import MedalError

if TYPE_CHECKING:
    from storage import Project

PER_PAGE = 24
COLUMNS = 6


def thumbnail_grid(images: list[Any], *, project: Project, sees_identity: bool) -> None:
    pages = max(1, -(-len(images) // PER_PAGE))
    page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, step=1) if pages > 1 else 1
    shown = images[(page - 1) * PER_PAGE: page * PER_PAGE]
    for start in range(0, len(shown), COLUMNS):
        for column, summary in zip(st.columns(COLUMNS), shown[start:start + COLUMNS]):
            with column:
                try:
                    # Inline (a data: URL): Streamlit's media store would serve the picture to anyone with
                    # its address, cookie or not, for as long as the page holds it.
                    st.image(data_url(thumbnail_png(get_image(summary.id, engine=project.engine), project=project)),
                             width="stretch")
                except MedalError as error:
                    st.caption(f"⚠ {as_text(error)}")
                st.caption(as_text(image_caption(summary, sees_identity=sees_identity)))
                st.page_link("labeling/ui/pages/label.py", label="Open in Label", icon=":material/draw:",
                             query_params=label_link(summary.id))
