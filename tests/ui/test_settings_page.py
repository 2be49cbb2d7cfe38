"""Settings (AppTest): what was added or changed is confirmed after the page reruns (issue 21), and changing
only a disabled account's role leaves it disabled (issue 22, item 10: "May log in" was ticked by default and
re-enabled it)."""

from __future__ import annotations

import pytest

from labeling.access import add_user, list_users, update_user
from labeling.labels import list_classes
from tests.support.pages import button, logged_in


def test_adding_a_class_or_a_user_is_confirmed(project) -> None:
    at = logged_in("boss", "admin", project=project)
    at.switch_page("labeling/ui/pages/settings.py").run()
    at.text_input[0].set_value("Benign *cyst*")
    at.color_picker[0].set_value("#4363d8")
    button(at, "Save class").click().run()
    assert not at.exception, at.exception
    assert "Benign *cyst*" in [c.name for c in list_classes(engine=project.engine)]
    assert [s.value for s in at.success] == ["Added class Benign \\*cyst\\*."]  # as text, not Markdown
    fields = {t.label: t for t in at.text_input}
    fields["User name"].set_value("carol")
    fields["Initial password"].set_value("carol-password")
    button(at, "Add user").click().run()
    assert [s.value for s in at.success] == ["Added user carol (annotator)."]
    at.run()
    assert not at.success  # once


def test_changing_only_a_disabled_users_role_keeps_them_disabled(project) -> None:
    add_user("dora", "dora-password", "annotator", engine=project.engine)
    update_user("dora", active=False, engine=project.engine)
    at = logged_in("boss", "admin", project=project)
    at.switch_page("labeling/ui/pages/settings.py").run()
    who = next(s for s in at.selectbox if s.label == "User (as it is now)")
    assert "dora (annotator, may not log in)" in who.options  # the form shows the account as it is
    assert next(s for s in at.selectbox if s.label == "Log-in").value == "(unchanged)"
    who.set_value("dora")
    next(s for s in at.selectbox if s.label == "New role").set_value("reviewer")
    button(at, "Save user").click().run()
    assert not at.exception, at.exception
    (dora,) = [u for u in list_users(engine=project.engine) if u["name"] == "dora"]
    assert dora["role"] == "reviewer" and not dora["active"]
    assert [s.value for s in at.success] == ["Saved user dora."]
    next(s for s in at.selectbox if s.label == "User (as it is now)").set_value("dora")
    next(s for s in at.selectbox if s.label == "Log-in").set_value("may log in")
    button(at, "Save user").click().run()
    assert [u["active"] for u in list_users(engine=project.engine) if u["name"] == "dora"] == [True]
    assert "dora (reviewer, may log in)" in next(s for s in at.selectbox if s.label == "User (as it is now)").options


def test_an_admin_adds_a_single_sign_on_account_without_a_password(project) -> None:
    from labeling.access import LoginFailed, authenticate

    admin = logged_in("boss", "admin", project=project)
    admin.switch_page("labeling/ui/pages/settings.py").run()
    next(t for t in admin.text_input if t.label == "User name").set_value("anna@hospital.example")
    next(t for t in admin.text_input if t.label == "Initial password").set_value("typed-by-habit")
    next(c for c in admin.checkbox if c.label.startswith("Single sign-on only")).check()
    button(admin, "Add user").click().run()
    assert not admin.exception and not admin.error
    (anna,) = [u for u in list_users(engine=project.engine) if u["name"] == "anna@hospital.example"]
    assert anna["sso_only"] is True
    with pytest.raises(LoginFailed):
        authenticate("anna@hospital.example", "typed-by-habit", engine=project.engine)
