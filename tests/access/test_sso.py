"""Single sign-on in the library: an identity's claims → a Medal account and role (issue 26)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from labeling.access import LoginFailed, SignInRefused, add_user, authenticate, browser_sessions, sign_in
from labeling.access.accounts import PASSWORD_LOGIN_OFF, SSO_ONLY, list_users, update_user
from labeling.access.sso import MAX_SIGN_IN_AGE_S
from storage import AuditEvent, Role, User, config, utcnow
from storage.config import SSO_ROLE_NAMES, InvalidConfig

ROLES = "radiology=annotator; rad-seniors=reviewer; cn=ai,ou=groups=scientist"


@pytest.fixture
def mapped(project, monkeypatch):
    monkeypatch.setenv("MEDAL_SSO_ROLES", ROLES)
    return project


def claims(email: str = "ann@hospital.example", *groups: str, **more: object) -> dict[str, object]:
    return {"iss": "https://idp.example", "sub": f"id-{email}", "email": email, "groups": list(groups),
            "iat": int(utcnow().timestamp()), **more}


def events(project, action: str) -> list[AuditEvent]:
    with Session(project.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_settings_parse_and_name_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("MEDAL_SSO_ROLES", ROLES)
    monkeypatch.setenv("MEDAL_PASSWORD_LOGIN", "off")
    settings = config()
    assert settings.sso_roles == (("radiology", "annotator"), ("rad-seniors", "reviewer"),
                                  ("cn=ai,ou=groups", "scientist"))
    assert not settings.password_login and settings.sso_name_claim == "email" and settings.sso_role_claim == "groups"
    assert SSO_ROLE_NAMES == tuple(role.value for role in Role)
    for name, value in (("MEDAL_SSO_ROLES", "radiology=boss"), ("MEDAL_SSO_ROLES", "radiology"),
                        ("MEDAL_SSO_ROLES", "=admin"), ("MEDAL_PASSWORD_LOGIN", "maybe")):
        monkeypatch.setenv(name, value)
        with pytest.raises(InvalidConfig, match=name):
            config()
        monkeypatch.delenv(name)


def test_a_mapped_group_makes_an_account_without_a_password(mapped) -> None:
    account = sign_in(claims("ann@hospital.example", "radiology", "unrelated"), engine=mapped.engine,
                      client="10.0.0.7")
    assert account.name == "ann@hospital.example" and account.role is Role.ANNOTATOR
    with Session(mapped.engine) as session:
        user = session.exec(select(User).where(User.name == account.name)).one()
    assert user.password_hash == SSO_ONLY and user.active
    with pytest.raises(LoginFailed):  # no password logs in to it
        authenticate(account.name, SSO_ONLY, engine=mapped.engine)
    login = events(mapped, "user.login")[-1]
    assert login.user_id == account.id and login.detail["via"] == "sso" and login.detail["from"] == "groups"
    assert login.detail["subject"] == "id-ann@hospital.example" and login.detail["client"] == "10.0.0.7"
    assert events(mapped, "user.add")[-1].detail == {"name": account.name, "role": "annotator", "via": "sso"}
    assert sign_in(claims("ann@hospital.example", "radiology"), engine=mapped.engine).id == account.id  # once only


def test_the_most_rights_of_the_mapped_groups_win_and_follow_the_groups(mapped) -> None:
    name = "rita@hospital.example"
    assert sign_in(claims(name, "radiology", "cn=ai,ou=groups", "rad-seniors"), engine=mapped.engine).role \
        is Role.SCIENTIST
    assert sign_in(claims(name, "radiology"), engine=mapped.engine).role is Role.ANNOTATOR  # left the AI group
    assert events(mapped, "user.update")[-1].detail == {"role": "annotator", "was": "scientist", "via": "sso"}


def test_a_group_claim_as_one_string_and_another_claim(mapped, monkeypatch) -> None:
    monkeypatch.setenv("MEDAL_SSO_ROLE_CLAIM", "roles")
    monkeypatch.setenv("MEDAL_SSO_NAME_CLAIM", "preferred_username")
    account = sign_in(claims("x@hospital.example", roles="rad-seniors", preferred_username="rita"),
                      engine=mapped.engine)
    assert (account.name, account.role) == ("rita", Role.REVIEWER)


def test_without_a_mapped_group_an_admins_account_decides(mapped) -> None:
    add_user("boss", "boss-password", "admin", engine=mapped.engine)
    add_user("sam@hospital.example", "sam-password", "scientist", engine=mapped.engine, actor="boss")
    account = sign_in(claims("sam@hospital.example", "visitors"), engine=mapped.engine)
    assert account.role is Role.SCIENTIST and events(mapped, "user.login")[-1].detail["from"] == "account"


@pytest.mark.parametrize("groups", [(), ("visitors",), ("Radiology",)])  # group names match exactly
def test_no_account_and_no_mapped_group_is_refused_and_audited(mapped, groups) -> None:
    with pytest.raises(SignInRefused, match="no Medal account has that name and none of your groups"):
        sign_in(claims("eve@hospital.example", *groups), engine=mapped.engine, client="10.0.0.9")
    with Session(mapped.engine) as session:
        assert session.exec(select(User).where(User.name == "eve@hospital.example")).first() is None
    refused = events(mapped, "user.login_failed")[-1]
    assert refused.username == "eve@hospital.example" and refused.detail["via"] == "sso"
    assert refused.detail["client"] == "10.0.0.9" and "no Medal account" in refused.detail["reason"]
    assert not events(mapped, "user.login")


def test_a_name_with_only_annotations_is_no_account(mapped) -> None:
    with Session(mapped.engine) as session:  # what saving a reading under a name leaves behind
        session.add(User(name="old@hospital.example"))
        session.commit()
    with pytest.raises(SignInRefused, match="no Medal account"):
        sign_in(claims("old@hospital.example"), engine=mapped.engine)
    assert sign_in(claims("old@hospital.example", "radiology"), engine=mapped.engine).role is Role.ANNOTATOR


def test_a_disabled_account_stays_out_whatever_the_groups_say(mapped) -> None:
    account = sign_in(claims("ann@hospital.example", "rad-seniors"), engine=mapped.engine)
    session_id, _ = browser_sessions.start(account, engine=mapped.engine)
    update_user(account.name, active=False, engine=mapped.engine)
    with pytest.raises(browser_sessions.SessionEnded, match="disabled"):  # the open session ends
        browser_sessions.live(session_id, engine=mapped.engine)
    with pytest.raises(SignInRefused, match="disabled"):  # and the provider cannot switch it back on
        sign_in(claims("ann@hospital.example", "rad-seniors"), engine=mapped.engine)
    with Session(mapped.engine) as session:
        assert not session.exec(select(User).where(User.name == account.name)).one().active


def test_an_sso_session_follows_a_changed_role(mapped) -> None:
    account = sign_in(claims("ann@hospital.example", "radiology"), engine=mapped.engine)
    session_id, _ = browser_sessions.start(account, engine=mapped.engine)
    update_user(account.name, role="reviewer", engine=mapped.engine)
    assert browser_sessions.live(session_id, engine=mapped.engine).role is Role.REVIEWER


@pytest.mark.parametrize(("extra", "message"), [
    ({"email": None}, "no usable 'email' claim"),
    ({"email": "x" * 65}, "no usable 'email' claim"),
    ({"email": "consensus"}, "consensus readings"),
    ({"email_verified": False}, "not verified your e-mail"),
    ({"iat": None}, "no issue time"),
    ({"iat": "yesterday"}, "no issue time"),
    ({"iat": int((utcnow() - timedelta(seconds=MAX_SIGN_IN_AGE_S + 5)).timestamp())}, "too old"),
])
def test_unusable_identities_are_refused(mapped, extra, message) -> None:
    with pytest.raises(SignInRefused, match=message):
        sign_in(claims("ann@hospital.example", "rad-seniors") | extra, engine=mapped.engine)
    assert message in events(mapped, "user.login_failed")[-1].detail["reason"]
    assert not events(mapped, "user.login")


def test_password_log_in_can_be_switched_off(project, monkeypatch) -> None:
    add_user("ann", "right-password", engine=project.engine)
    monkeypatch.setenv("MEDAL_PASSWORD_LOGIN", "off")
    with pytest.raises(LoginFailed) as error:
        authenticate("ann", "right-password", engine=project.engine)
    assert str(error.value) == PASSWORD_LOGIN_OFF and not events(project, "user.login")
    monkeypatch.setenv("MEDAL_PASSWORD_LOGIN", "on")
    assert authenticate("ann", "right-password", engine=project.engine).name == "ann"


def test_an_admin_adds_an_account_for_single_sign_on_only(mapped) -> None:
    add_user("boss", "boss-password", "admin", engine=mapped.engine)
    add_user("rita@hospital.example", None, "reviewer", engine=mapped.engine, actor="boss")
    assert events(mapped, "user.add")[-1].detail == {"name": "rita@hospital.example", "role": "reviewer", "via": "sso"}
    listed = {user["name"]: user for user in list_users(engine=mapped.engine)}
    assert listed["rita@hospital.example"]["sso_only"] and not listed["boss"]["sso_only"]
    with pytest.raises(LoginFailed):
        authenticate("rita@hospital.example", SSO_ONLY, engine=mapped.engine)
    assert sign_in(claims("rita@hospital.example", "visitors"), engine=mapped.engine).role is Role.REVIEWER
