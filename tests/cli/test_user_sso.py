"""`medal user add NAME --sso`: an account that logs in only through single sign-on (issue 26)."""

from __future__ import annotations

from labeling.cli.main import main


def test_user_add_sso_needs_no_password_and_is_listed_so(project, capsys) -> None:
    assert main(["user", "add", "rita@hospital.example", "--sso", "--role", "reviewer"]) == 0  # no prompt
    assert "single sign-on only" in capsys.readouterr().out
    assert main(["user", "list"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("rita@hospital.example"))
    assert "reviewer" in line and "(single sign-on only)" in line
    assert main(["user", "add", "sam@hospital.example", "--sso", "--password", "sam-password"]) != 0
    assert "leave out --password" in capsys.readouterr().err
