"""Editing the consensus in the viewer on the Review page (AppTest): the reviewer's edits start from the readings
chosen, every reader's regions go to the viewer as read-only overlays in their colours, and a save stores the
consensus (never a reading under the reviewer's name, no lease, no queue) only with a reason."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from labeling.access import add_user
from labeling.access.rights import NotAllowed
from labeling.labels import get_image, list_annotations, reader_colours
from labeling.ui.parts.consensus import CONSENSUS_VIEWER_KEY, open_consensus
from labeling.ui.state import CONSENSUS_KEY, LABEL_KEY
from storage.models import Annotation, User
from tests.support.pages import ann_and_bob_disagree, button, logged_in, rect, square


@pytest.fixture
def disagreeing(project, make_demo):
    """Image 1: ann saw nothing (healthy), bob a nodule (cancerous)."""
    make_demo(0)
    ann_and_bob_disagree(project)
    return project


def consensus_data(at) -> dict:
    (element,) = [e for e in at.main if getattr(e, "proto", None) is not None
                  and type(e.proto).__name__ == "BidiComponent" and e.proto.component_name == "medal.viewer"]
    return json.loads(element.proto.json)


def open_viewer(project, how: str = "Merge regions"):
    at = logged_in("rita", "reviewer", project=project)
    at.switch_page("labeling/ui/pages/review.py").run()
    at.radio[0].set_value(how)
    at.selectbox[2].set_value("bob")  # the image label from (merge)
    button(at, "Edit the consensus in the viewer").click().run()
    assert not at.exception, at.exception
    return at


def report(at, regions: list[dict]) -> None:
    state = at.session_state[CONSENSUS_KEY]
    at.session_state[CONSENSUS_VIEWER_KEY] = {"regions": {"revision": state.revision, "image_id": state.image_id,
                                                          "by_image": {str(state.image_id): regions}}}
    at.run()


def stored(project) -> Annotation | None:
    with Session(project.engine) as session:
        return session.exec(select(Annotation).join(User, Annotation.user_id == User.id)
                            .where(User.name == "consensus", Annotation.is_current)).first()


def test_the_viewer_shows_every_reader_and_saves_the_edited_consensus(disagreeing) -> None:
    at = open_viewer(disagreeing)
    queue_item = at.session_state[LABEL_KEY].image_id
    data = consensus_data(at)
    colours = reader_colours(["ann", "bob"])
    assert [(r["name"], r["color"]) for r in data["readers"]] == [("ann", colours["ann"]), ("bob", colours["bob"])]
    assert data["readers"][0]["regions"] == {"1": []} and len(data["readers"][1]["regions"]["1"]) == 1
    assert data["regions"] == {"1": [rect(20, 20, 30, 30)]}  # merge, none chosen: every reader's regions
    assert data["actions"] == ["save"] and data["next_up"] is None
    assert any(t.value.startswith("bob (") for t in at.text)
    report(at, [rect(20, 20, 30, 30), rect(60, 60, 10, 12)])  # the reviewer adds a region
    at.text_input(key="consensus-reason").set_value("bob's nodule, and one both missed")
    button(at, "Save the consensus").click().run()
    assert not at.exception, at.exception
    saved = stored(disagreeing)
    readings = {a.annotator: a.id for a in list_annotations(engine=disagreeing.engine, image_id=1)}
    with Session(disagreeing.engine) as session:
        rita = session.exec(select(User).where(User.name == "rita")).one()
    assert saved is not None and saved.adjudicated_by == rita.id and saved.sources == [readings["ann"], readings["bob"]]
    (consensus,) = [a for a in list_annotations(engine=disagreeing.engine, image_id=1) if a.annotator == "consensus"]
    assert [r.bbox for r in consensus.regions] == [[20, 20, 30, 30], [60, 60, 10, 12]]
    assert consensus.image_label == "cancerous"  # bob's, as chosen
    assert "rita" not in readings  # never a reading under the reviewer's name
    assert get_image(1, engine=disagreeing.engine).leased_by is None
    label = at.session_state[LABEL_KEY]  # the Label page rita logged in on: its queue item is where it was
    assert label.image_id == queue_item != 1 and label.history == []
    assert at.session_state[CONSENSUS_KEY].image_id is None  # the viewer closed
    assert any("Nothing to review" in s.value for s in at.success)


def test_the_label_from_the_accepted_reading_and_no_save_without_a_reason(disagreeing) -> None:
    at = open_viewer(disagreeing, "Accept one reading")  # ann's reading: no region, healthy
    assert consensus_data(at)["regions"] == {} and consensus_data(at)["image_label"] == "healthy"
    button(at, "Save the consensus").click().run()
    assert any("Say why" in e.value for e in at.error)
    assert stored(disagreeing) is None and at.session_state[CONSENSUS_KEY].image_id == 1  # still open
    at.session_state[CONSENSUS_VIEWER_KEY] = {"action": {"type": "save", "nonce": "n1", "image_id": 1}}
    at.text_input(key="consensus-reason").set_value("ann is right").run()
    assert not at.exception, at.exception
    assert stored(disagreeing).image_label == "healthy"  # `s` in the viewer saves too


def test_a_reader_cannot_open_the_consensus(disagreeing) -> None:
    at = logged_in("cara", "annotator", project=disagreeing)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("labeling/ui/pages/review.py")
    with pytest.raises(NotAllowed):  # the library refuses her, whatever the page
        open_consensus(1, SimpleNamespace(name="cara"), project=disagreeing)


def test_regions_on_another_slice_are_refused_with_the_slice_named(disagreeing) -> None:
    from labeling.ui.parts.consensus import save_consensus
    from labeling.ui.state import ConsensusSession

    add_user("rita", "rita-password", "reviewer", engine=disagreeing.engine)
    state = ConsensusSession(image_id=1, loaded_for=1, slice_numbers={1: 1, 2: 2},
                             edits={1: [square(20, 20)], 2: [square(40, 40)]}, sources=[1, 2])
    assert not save_consensus(state, "rita", project=disagreeing)
    assert "remove the regions on slice(s) 2" in state.error and stored(disagreeing) is None


def test_a_consensus_is_revised_by_opening_its_image_by_id(disagreeing) -> None:
    """An adjudicated image leaves the review queue; a reviewer opens it by its id, starts from its consensus
    and saves a new version of it."""
    from labeling.labels import accept_reading

    at = logged_in("rita", "reviewer", project=disagreeing)
    accept_reading(1, "bob", engine=disagreeing.engine, reason="bob's nodule", actor="rita")
    at.switch_page("labeling/ui/pages/review.py").run()
    assert any("Nothing to review" in s.value for s in at.success)
    at.number_input[0].set_value(999).run()
    assert any("has no reading to review" in e.value for e in at.error)
    at.number_input[0].set_value(1).run()
    assert not at.exception and any(t.value.startswith("• has a consensus (version 1)") for t in at.text)
    button(at, "Edit the consensus in the viewer").click().run()
    assert consensus_data(at)["regions"] == {"1": [rect(20, 20, 30, 30)]}  # it starts from the consensus
    report(at, [rect(24, 24, 20, 20)])
    at.text_input(key="consensus-reason").set_value("tighter outline")
    button(at, "Save the consensus").click().run()
    assert not at.exception, at.exception
    (consensus,) = [a for a in list_annotations(engine=disagreeing.engine, image_id=1) if a.annotator == "consensus"]
    assert consensus.version == 2 and [r.bbox for r in consensus.regions] == [[24, 24, 20, 20]]
