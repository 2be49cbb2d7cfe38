"""The README opens with exactly the two commands, and CI runs the second one."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The README's first two code blocks, one command each (a block of its own each: pasting the first
    whole must not run the test suite after the app)."""
    text = (ROOT / "README.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```bash\n")[1:3]]
    for block in blocks:
        assert len([line for line in block.splitlines() if line.strip()]) == 1, block
    return [block.strip() for block in blocks]


def test_readme_opens_with_two_commands() -> None:
    run, test = readme_commands()
    assert "medal demo" in run and "streamlit run app.py" in run
    assert "pytest" in test and ".[test]" in test
    assert (ROOT / "README.md").read_text().index("```bash") < 60


def test_ci_runs_the_readme_test_command() -> None:
    _, test = readme_commands()
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#") and line not in ("set -euo pipefail", 'cd "$(dirname "$0")/.."')]
    assert ci == [test]
