"""The audit trail (``labeling.access.audit``, ``medal audit``, the Audit page): who did what and when, filtered
by user, image and action, for admins only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from labeling.access import LoginFailed, add_user, audit_trail, authenticate
from labeling.access.rights import NotAllowed
from labeling.cli.main import main
from labeling.export import ExportOptions, export_dataset
from labeling.labels import ReadingPlan, save_annotation, set_reading_plan, skip, undo_last_save
from tests.support.pages import logged_in


@pytest.fixture
def busy(project, make_demo):
    """ann saves image 5 twice and undoes once, skips 6, fails a log-in; ada (admin) changes the reading plan and
    exports."""
    make_demo(0)
    engine = project.engine
    add_user("ann", "ann-password", "annotator", engine=engine)
    add_user("ada", "ada-password", "admin", engine=engine)
    save_annotation(5, "ann", [], image_label="healthy", engine=engine)
    save_annotation(5, "ann", [], image_label="cancerous", engine=engine)
    undo_last_save("ann", engine=engine)
    skip(6, "ann", "poor image quality", engine=engine)
    with pytest.raises(LoginFailed):
        authenticate("ann", "wrong-password", engine=engine)
    set_reading_plan(ReadingPlan(readers=2), engine=engine, actor="ada")
    export_dataset(project.home / "export", ExportOptions(["csv"], deidentify=True), project=project, actor="ada")
    return project


def test_the_trail_filters_by_user_image_and_action(busy) -> None:
    engine = busy.engine
    everything = audit_trail(engine=engine, actor="ada")
    assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)  # newest first
    assert everything[0].action == "export.create" and everything[0].detail["readings"] == "each"
    assert [e.action for e in audit_trail(engine=engine, user="ann", actor="ada")][:5] == [
        "user.login_failed", "image.skip", "annotation.undo", "annotation.save", "annotation.save"]
    on_five = audit_trail(engine=engine, image_id=5)
    assert [e.action for e in on_five] == ["annotation.undo", "annotation.save", "annotation.save"]
    assert [e.detail["version"] for e in on_five[1:]] == [2, 1]
    assert {e.action for e in audit_trail(engine=engine, action="annotation")} == {"annotation.save", "annotation.undo"}
    plan = audit_trail(engine=engine, action="setting.change")[0]
    assert (plan.user, plan.detail["before"]["readers"], plan.detail["after"]["readers"]) == ("ada", 1, 2)
    assert audit_trail(engine=engine, since=datetime.now(timezone.utc) + timedelta(days=1)) == []
    assert len(audit_trail(engine=engine, limit=2)) == 2
    with pytest.raises(NotAllowed, match="audit trail"):
        audit_trail(engine=engine, actor="ann")


def test_medal_audit_prints_the_trail(busy, capsys) -> None:
    assert main(["audit", "--json", "--image", "6"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["user"], entry["action"], entry["detail"]["reason"]) == ("ann", "image.skip", "poor image quality")
    assert main(["audit", "--user", "ada", "--action", "export"]) == 0
    assert "export.create" in capsys.readouterr().out


def test_the_audit_page_shows_admins_the_trail(busy) -> None:
    at = logged_in("adam", "admin", project=busy)
    at.switch_page("labeling/ui/pages/audit.py").run()
    assert not at.exception, at.exception
    rows = at.dataframe[0].value
    assert "user.login" in list(rows["action"]) and "export.create" in list(rows["action"])
    at.number_input[0].set_value(6).run()
    assert list(at.dataframe[0].value["action"]) == ["image.skip"]
