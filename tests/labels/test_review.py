"""Review and adjudication: the review queue holds exactly the disagreeing images (and the sample), a consensus is
its own versioned, audited reading, and agreement measures each reader against it."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from labeling.access.accounts import AccountError, add_user
from labeling.access.rights import NotAllowed
from labeling.cli.main import main
from labeling.labels.agreement import agreement_report
from labeling.labels.annotations import RegionInput, list_annotations, save_annotation
from labeling.labels.queue import peek
from labeling.labels.reading_plan import ReadingPlan, set_reading_plan
from labeling.labels.review import SAMPLED, ReviewError, ReviewRules, accept_reading, merge_readings, review_queue
from storage.models import Annotation, AuditEvent, Image


def square(x: float, y: float, side: float = 20, label: str = "Cancerous") -> RegionInput:
    return RegionInput(label, "rect", [[x, y], [x + side, y], [x + side, y + side], [x, y + side]])


@pytest.fixture
def double_read(project, make_demo):
    """Eight images read by ann and bob: 1-3 agree; 4 labels differ; 5 a finding only bob marked; 6 regions
    overlapping with Dice 0.33; 7 a region of ann bob did not draw; 8 agree. Image 9 read by ann only."""
    make_demo(0)
    engine = project.engine
    for name in ("ann", "bob"):
        add_user(name, f"{name}-password", "annotator", engine=engine)
    add_user("rita", "rita-password", "reviewer", engine=engine)
    set_reading_plan(ReadingPlan(readers=2), engine=engine)
    same = [square(10, 10)]
    plan = {1: (same, "cancerous", same, "cancerous"), 2: ([], "healthy", [], "healthy"),
            3: (same, "cancerous", same, "cancerous"), 4: ([], "healthy", [], "no finding"),
            5: ([], "healthy", same, "cancerous"), 6: ([square(10, 10)], "cancerous", [square(24, 10)], "cancerous"),
            7: ([square(10, 10), square(100, 100)], "cancerous", same, "cancerous"), 8: (same, "cancerous", same,
                                                                                        "cancerous")}
    for image_id, (mine, my_label, theirs, their_label) in plan.items():
        save_annotation(image_id, "ann", mine, image_label=my_label, engine=engine)
        save_annotation(image_id, "bob", theirs, image_label=their_label, engine=engine)
    save_annotation(9, "ann", [], image_label="healthy", engine=engine)
    return project


def test_the_review_queue_holds_exactly_the_disagreements_and_the_sample(double_read) -> None:
    engine = double_read.engine
    queue = review_queue(engine=engine, actor="rita", rules=ReviewRules(sample_agreeing=0))
    assert [item.image_id for item in queue] == [4, 5, 6, 7]
    reasons = {item.image_id: item.reasons for item in queue}
    assert reasons[4] == ["image labels differ: ann healthy, bob no finding"]
    assert "a finding marked by bob only" in reasons[5]
    assert any("overlap with Dice 0.33" in r for r in reasons[6])  # 21×21-pixel squares sharing 7×21: 294/882
    assert reasons[7] == ["1 Cancerous region(s) of ann match none of bob's"]
    everything = review_queue(engine=engine, actor="rita", rules=ReviewRules(sample_agreeing=1.0))
    assert [item.image_id for item in everything] == [4, 5, 6, 7, 1, 2, 3, 8]
    assert all(item.reasons == [SAMPLED] for item in everything[4:])
    assert 9 not in {item.image_id for item in everything}  # still waits for its second reader
    with pytest.raises(NotAllowed, match="review readings"):
        review_queue(engine=engine, actor="ann")


def test_a_consensus_is_its_own_versioned_audited_reading(double_read) -> None:
    engine = double_read.engine
    consensus = merge_readings(7, {"ann": [1], "bob": None}, label_from="bob", engine=engine, actor="rita",
                               reason="bob's nodule, and ann's second one")
    assert consensus.annotator == "consensus" and consensus.version == 1
    assert [r.bbox for r in consensus.regions] == [[100, 100, 20, 20], [10, 10, 20, 20]]
    readings = {a.annotator: a for a in list_annotations(engine=engine, image_id=7)}
    with Session(engine) as session:
        row = session.get(Annotation, consensus.id)
        assert row.sources == sorted([readings["ann"].id, readings["bob"].id]) and row.reason.startswith("bob's")
        assert row.adjudicated_by is not None
        assert session.get(Image, 7).readings == 2  # the consensus is no reader
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "review.adjudicate")).one()
        assert event.detail["image_id"] == 7
    assert 7 not in {item.image_id for item in review_queue(engine=engine, actor="rita")}  # adjudicated
    again = accept_reading(7, "ann", engine=engine, actor="rita", reason="ann was right after all")
    assert again.version == 2 and len(again.regions) == 2
    assert 7 not in {item.image_id for item in peek("ann", 400, engine=engine)}
    with pytest.raises(ReviewError, match="Say why"):
        accept_reading(6, "ann", engine=engine, actor="rita", reason=" ")
    with pytest.raises(ReviewError, match="no region 5"):
        merge_readings(6, {"ann": [5]}, label_from="ann", engine=engine, actor="rita", reason="x")
    with pytest.raises(ReviewError, match="'cy' has no reading"):
        accept_reading(6, "cy", engine=engine, actor="rita", reason="x")
    with pytest.raises(NotAllowed):
        accept_reading(6, "ann", engine=engine, actor="bob", reason="mine is better")
    with pytest.raises(AccountError, match="consensus readings"):
        add_user("Consensus", "consensus-password", engine=engine)


def test_agreement_measures_each_reader_against_the_consensus(double_read) -> None:
    engine = double_read.engine
    accept_reading(5, "bob", engine=engine, actor="rita", reason="the lesion is there")
    accept_reading(4, "ann", engine=engine, actor="rita", reason="healthy")
    report = agreement_report(engine=engine)
    assert report.readers == ["ann", "bob"]  # the consensus is no reader among the pairs
    against = {entry.reader: entry for entry in report.against_consensus}
    # Image 5's finding: bob marked it, ann did not; image 4 has none.
    assert (against["bob"].sensitivity.value, against["ann"].sensitivity.value) == (1.0, 0.0)
    assert against["bob"].sensitivity.n == 1 and 0 < against["bob"].sensitivity.low < 1


def test_medal_review_lists_and_adjudicates(double_read, capsys) -> None:
    assert main(["review", "--json", "--sample", "0"]) == 0
    assert [item["image_id"] for item in json.loads(capsys.readouterr().out)] == [4, 5, 6, 7]
    assert main(["review", "accept", "4", "--reader", "bob", "--reason", "no finding"]) == 0
    assert "consensus" in capsys.readouterr().out
    assert main(["review", "merge", "7", "--take", "ann:0,1", "--label-from", "ann", "--reason", "both"]) == 0
    capsys.readouterr()
    assert main(["review", "--json", "--sample", "0"]) == 0
    assert [item["image_id"] for item in json.loads(capsys.readouterr().out)] == [5, 6]
    assert main(["review", "accept", "6", "--reader", "cy", "--reason", "x"]) == 2
    assert "'cy' has no reading" in capsys.readouterr().err
