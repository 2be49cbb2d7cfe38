"""Issue 21: at 1280×800 with the model's proposals showing, everything a reader needs is on screen without
scrolling — the decisions (Save & next, Skip, Back, Undo) above the model's panel, Accept and Reject whole —
and the proposals are drawn on the image before the reader decides."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sqlmodel import Session, select

from labeling.access import add_user
from labeling.intake import create_demo
from storage import Image, ModelVersion, Prediction, Project
from tests.support.app_server import served
from tests.support.viewer_browser import ARTIFACTS, VIEWER, has, log_in


@pytest.fixture(scope="module")
def with_proposals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo with an active model whose every prediction proposes one region (a hot 4×4-cell square)."""
    folder = tmp_path_factory.mktemp("layout")
    project = Project.open(folder / "medal-home")
    create_demo(labeled=0, project=project)
    add_user("lena", "lena-password", "annotator", engine=project.engine)
    heat = np.zeros((64, 64), np.float16)
    heat[20:24, 30:34] = 0.97
    np.save(folder / "heat.npy", heat)
    with Session(project.engine) as session:
        version = ModelVersion(checkpoint_path="v1.pt", metrics={"threshold": 0.5, "proposal_threshold": 0.9},
                               config={}, active=True)
        session.add(version)
        session.flush()
        for image_id in session.exec(select(Image.id)).all():
            session.add(Prediction(model_version_id=version.id, image_id=image_id, probability=0.93,
                                   uncertainty=0.2, heatmap_path=str(folder / "heat.npy")))
        session.commit()
    with served(project.home, MEDAL_WORKER="off") as url:
        yield url
    project.close()


def test_at_1280x800_with_proposals_every_decision_is_on_screen(with_proposals: str, chromium) -> None:
    page = log_in(chromium, with_proposals, "lena", size=(1280, 800))
    has(page, "proposals", "1")  # drawn on the image before Accept
    for name in ("Save & next", "Skip", "Back", "Undo", "Accept", "Reject"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800 and box["x"] + box["width"] <= 1280, name
        text = page.get_by_role("button", name=name, exact=True).inner_text()
        assert text.strip() == name  # not cut ("Accept pro…")
    viewer = page.locator(VIEWER).bounding_box()
    assert viewer["y"] + viewer["height"] <= 800
    page.get_by_role("button", name="Accept", exact=True).click()
    page.locator(f'{VIEWER}[data-regions="1"][data-proposals="0"]').wait_for()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "label-1280x800-proposals.png"))
    page.close()
