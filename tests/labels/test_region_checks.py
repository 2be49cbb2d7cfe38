"""Issue 22 (3, 5): one annotator cannot break every training run or export. Regions are checked where they
are saved (finite numbers, inside the image with a margin, vertex and region caps); a bad region already in
a database is left out of training and of exports, and said so, instead of failing them."""

from __future__ import annotations

import json
import math

import pytest
from sqlmodel import Session, func, select

from labeling.export import ExportOptions, export_dataset
from labeling.intake import import_paths
from labeling.labels import RegionInput, list_annotations, list_images, save_annotation
from labeling.labels.annotations import MAX_REGIONS, MAX_VERTICES, InvalidRegion
from learner.dataset import build_examples
from storage import Annotation, Project, Region
from tests.conftest import pydicom_file


@pytest.fixture
def image_id(project: Project) -> int:
    import_paths([str(pydicom_file("CT_small.dcm"))], project=project)  # 128 × 128
    return list_images(engine=project.engine)[0].id


def square(x: float, y: float, side: float) -> list[list[float]]:
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side]]


BAD = {
    "strings": [["-Infinity", 0], ["Infinity", 30], [4, 4]],
    "infinity": [[-math.inf, 0], [math.inf, 30], [4, 4]],
    "nan": [[10, 10], [math.nan, 20], [30, 30]],
    "huge": [[10, 10], [1e300, 20], [30, 30]],
    "far outside": [[10, 10], [1e9, 20], [30, 30]],
    "bool": [[True, 10], [20, 20], [30, 30]],
    "three numbers": [[1, 2, 3], [20, 20], [30, 30]],
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_region_that_is_not_finite_numbers_in_the_image_is_refused_and_nothing_saved(
        project: Project, image_id: int, case: str) -> None:
    with pytest.raises(InvalidRegion) as raised:
        save_annotation(image_id, "ann", [RegionInput("Cancerous", "polygon", square(10, 10, 20)),
                                          RegionInput("Cancerous", "polygon",
                                                      BAD[case])], image_label="cancerous", engine=project.engine)
    assert f"Region 2 on image {image_id}" in str(raised.value)
    assert list_annotations(engine=project.engine, image_id=image_id) == []


def test_a_region_just_past_the_edge_is_kept_and_stored_as_floats(project: Project, image_id: int) -> None:
    save_annotation(image_id, "ann", [RegionInput("Cancerous", "rect", [[-5, -5], [133, -5], [133, 133], [-5, 133]])],
                    engine=project.engine)
    (saved,) = list_annotations(engine=project.engine, image_id=image_id)
    assert saved.regions[0].points[0] == [-5.0, -5.0] and isinstance(saved.regions[0].points[0][0], float)


def test_vertices_and_regions_are_capped(project: Project, image_id: int) -> None:
    ring = [[64 + 50 * math.cos(t / 1000), 64 + 50 * math.sin(t / 1000)] for t in range(MAX_VERTICES + 1)]
    with pytest.raises(InvalidRegion, match=f"at most {MAX_VERTICES}"):
        save_annotation(image_id, "ann", [RegionInput("Cancerous", "path", ring)], engine=project.engine)
    with pytest.raises(InvalidRegion, match=f"at most {MAX_REGIONS} per image"):
        save_annotation(image_id, "ann", [RegionInput("Cancerous", "rect", square(1, 1, 2))] * (MAX_REGIONS + 1),
                        engine=project.engine)
    save_annotation(image_id, "ann", [RegionInput("Cancerous", "path", ring[:MAX_VERTICES])] +
                    [RegionInput("Cancerous", "rect", square(1, 1, 2))] * (MAX_REGIONS - 1), engine=project.engine)
    assert len(list_annotations(engine=project.engine, image_id=image_id)[0].regions) == MAX_REGIONS


def _store_bad_region(project: Project, image_id: int) -> int:
    """What an older Medal stored: a region with NaN and Infinity, written behind the library's back."""
    save_annotation(image_id, "ann", [RegionInput("Cancerous", "polygon", square(20, 20, 30))],
                    image_label="cancerous", engine=project.engine)
    with Session(project.engine) as session:
        annotation = session.exec(select(Annotation).where(Annotation.image_id == image_id)).one()
        good = session.exec(select(Region).where(Region.annotation_id == annotation.id)).one()
        bad = Region(annotation_id=annotation.id, label_class_id=good.label_class_id, shape="polygon",
                     points=[[math.nan, 0.0], [math.inf, 30.0], [4.0, 4.0]], x=4.0, y=0.0, w=math.inf, h=30.0)
        session.add(bad)
        session.commit()
        return bad.id


def test_training_leaves_out_a_bad_stored_region_and_names_it(project: Project, image_id: int) -> None:
    bad = _store_bad_region(project, image_id)
    skipped: list[int] = []
    examples = build_examples(skipped, engine=project.engine)  # failed before: cannot convert float NaN to integer
    assert skipped == [bad]
    assert [e.source for e in examples if e.source == "region"] == ["region"]  # the good region still trains


def test_an_export_of_a_bad_stored_region_is_strict_json_and_says_what_it_left_out(
        project: Project, image_id: int, tmp_path) -> None:
    _store_bad_region(project, image_id)
    export_dataset(tmp_path / "out", ExportOptions(["coco", "masks"]), project=project)

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    coco = json.loads((tmp_path / "out" / "coco.json").read_text(), parse_constant=refuse)
    assert len(coco["annotations"]) == 1
    card = json.loads((tmp_path / "out" / "dataset_card.json").read_text(), parse_constant=refuse)
    assert any("1 region(s) without finite coordinates" in item["reason"] for item in card["left_out"])
    with Session(project.engine) as session:
        assert session.exec(select(func.count()).select_from(Region)).one() == 2  # the database is not changed
