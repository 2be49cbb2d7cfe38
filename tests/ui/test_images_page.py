"""Issue 21: the Images page sorts by the model's probability or uncertainty, keeps only images with
proposals, and opens an image by its id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlmodel import Session

from labeling.access import add_user
from labeling.labels import ReadingPlan, list_images, next_image, save_annotation, set_reading_plan
from storage import ModelVersion, Prediction
from tests.support.pages import label_state, logged_in


def scored(project, folder: Path) -> list[int]:
    """A model version that scored four demo images: probabilities 0.2, 0.95, 0.6, 0.9 and uncertainties
    0.9, 0.1, 0.8, 0.3; a hot spot (a proposal) on the 2nd's heatmap, the 4th's cool; the 3rd's hot all over, which
    singles nothing out (no proposal)."""
    ids = [image.id for image in list_images(engine=project.engine)][:4]
    with Session(project.engine) as session:
        version = ModelVersion(checkpoint_path="v1.pt", metrics={"threshold": 0.5, "proposal_threshold": 0.9},
                               config={}, active=True)
        session.add(version)
        session.flush()
        for image_id, p, u, heat in zip(ids, (0.2, 0.95, 0.6, 0.9), (0.9, 0.1, 0.8, 0.3), (None, 0.97, 0.98, 0.7)):
            path = None
            if heat is not None:
                path = folder / f"{image_id}.npy"
                cells = np.full((8, 8), heat if heat != 0.97 else 0.2, np.float16)
                cells[2:4, 2:4] = heat
                np.save(path, cells)
            session.add(Prediction(model_version_id=version.id, image_id=image_id, probability=p, uncertainty=u,
                                   heatmap_path=str(path) if path else None))
        session.commit()
    return ids


def table_ids(at) -> list[int]:
    return list(at.dataframe[0].value["id"])


def test_images_sort_by_the_model_and_keep_those_with_proposals(project, make_demo, tmp_path: Path) -> None:
    make_demo(0)
    ids = scored(project, tmp_path)
    at = logged_in(project=project)
    at.switch_page("labeling/ui/pages/images.py").run()
    assert not at.exception, at.exception
    assert table_ids(at)[:4] == ids  # by id at first
    order = next(s for s in at.selectbox if s.label == "Order")
    order.set_value("probability").run()
    assert table_ids(at)[:4] == [ids[1], ids[3], ids[2], ids[0]]
    assert list(at.dataframe[0].value["probability"])[:2] == [0.95, 0.9]
    order.set_value("uncertainty").run()
    assert table_ids(at)[:4] == [ids[0], ids[2], ids[3], ids[1]]
    next(c for c in at.checkbox if c.label == "Only images with proposals").check().run()
    assert table_ids(at) == [ids[1]] and at.caption[0].value == "1 image(s)"


def test_an_image_opens_by_its_id(project, make_demo) -> None:
    make_demo(0)
    wanted = list_images(engine=project.engine)[-1].id
    at = logged_in(project=project)
    at.switch_page("labeling/ui/pages/images.py").run()
    next(n for n in at.number_input if n.label == "Image id").set_value(wanted).run()
    next(b for b in at.button if b.label == "Open").click().run()
    assert not at.exception, at.exception
    assert label_state(at).image_id == wanted  # the Label page opened it
    at.switch_page("labeling/ui/pages/images.py").run()
    next(n for n in at.number_input if n.label == "Image id").set_value(10**9).run()
    next(b for b in at.button if b.label == "Open").click().run()
    assert any(f"There is no image {10**9}" in e.value for e in at.error)


def test_thumbnails_are_inline_never_in_streamlits_media_store(project, make_demo) -> None:
    """Issue 22: thumbnails were served from /media/<hash>.png, which answers without Medal's cookie."""
    make_demo(0)
    at = logged_in(project=project)
    at.switch_page("labeling/ui/pages/images.py").run()
    urls = []

    def walk(node: object) -> None:
        if getattr(node, "type", None) == "image":
            urls.extend(image.url for image in node.proto.imgs)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    assert len(urls) == 24 and all(url.startswith("data:image/png;base64,") for url in urls)


def test_a_blinded_reader_sees_an_image_another_reader_read_as_unlabeled(project, make_demo) -> None:
    make_demo(0)
    add_user("bob", "bob-password", "annotator", engine=project.engine)
    set_reading_plan(ReadingPlan(readers=2), engine=project.engine)
    first = next_image("bob", engine=project.engine).image_id
    save_annotation(first, "bob", [], image_label="cancerous", engine=project.engine)
    at = logged_in(project=project)  # ann, an annotator
    at.switch_page("labeling/ui/pages/images.py").run()
    assert not at.exception, at.exception
    rows = at.dataframe[0].value
    assert rows["status"][list(rows["id"]).index(first)] == "unlabeled"
    next(s for s in at.selectbox if s.label == "Status").set_value("labeled").run()
    assert at.caption[0].value == "0 image(s)"
