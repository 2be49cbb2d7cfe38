"""Where editing a consensus starts (``consensus_start``): the current consensus when there is one, else the regions
a reviewer picked (every reader's by default) with the label chosen; the sources are every reading of the image;
only reviewers and admins may ask."""

from __future__ import annotations

import pytest

from labeling.access.accounts import add_user
from labeling.access.rights import NotAllowed
from labeling.labels.annotations import RegionInput, list_annotations, save_annotation
from labeling.labels.review import ReviewError, adjudicate, consensus_start


def square(x: float, y: float, side: float = 20) -> RegionInput:
    return RegionInput("Cancerous", "rect", [[x, y], [x + side, y], [x + side, y + side], [x, y + side]])


@pytest.fixture
def read_twice(project, make_demo):
    """Image 1: ann two squares (cancerous), bob one (healthy)."""
    make_demo(0)
    for name, role in (("ann", "annotator"), ("bob", "annotator"), ("rita", "reviewer")):
        add_user(name, f"{name}-password", role, engine=project.engine)
    save_annotation(1, "ann", [square(10, 10), square(100, 100)], image_label="cancerous", engine=project.engine)
    save_annotation(1, "bob", [square(50, 50)], image_label="healthy", engine=project.engine)
    return project


def ids(project) -> list[int]:
    return sorted(a.id for a in list_annotations(engine=project.engine, image_id=1))


def test_every_readers_regions_by_default_and_no_label_when_they_differ(read_twice) -> None:
    start = consensus_start(1, engine=read_twice.engine, actor="rita")
    assert [r.points[0] for r in start.regions] == [[10, 10], [100, 100], [50, 50]]
    assert start.image_label is None and start.sources == ids(read_twice)


def test_the_regions_picked_and_the_label_chosen(read_twice) -> None:
    start = consensus_start(1, engine=read_twice.engine, take={"ann": [1], "bob": None}, label_from="bob",
                            actor="rita")
    assert [r.points[0] for r in start.regions] == [[100, 100], [50, 50]]
    assert start.image_label == "healthy" and start.sources == ids(read_twice)
    with pytest.raises(ReviewError, match="no region 5"):
        consensus_start(1, engine=read_twice.engine, take={"ann": [5]}, actor="rita")
    with pytest.raises(ReviewError, match="'zoe' has no reading"):
        consensus_start(1, engine=read_twice.engine, take={"zoe": None}, actor="rita")


def test_an_existing_consensus_is_where_editing_starts(read_twice) -> None:
    sources = ids(read_twice)
    adjudicate(1, engine=read_twice.engine, regions=[square(70, 70)], image_label="cancerous", sources=sources,
               reason="ann is right", actor="rita")
    start = consensus_start(1, engine=read_twice.engine, take={"bob": None}, actor="rita")
    assert [r.points[0] for r in start.regions] == [[70, 70]] and start.image_label == "cancerous"
    assert start.sources == sources  # the readings, never the consensus itself


def test_a_reader_may_not_start_a_consensus(read_twice) -> None:
    with pytest.raises(NotAllowed):
        consensus_start(1, engine=read_twice.engine, actor="ann")
