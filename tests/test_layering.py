"""The layering rules: imports follow the data flow, pages stay thin, settings are read in one place.

storage ← labeling.dicom ← labeling.labels ← labeling.intake / labeling.export ← learner ← labeling.ui / labeling.cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("labeling", "learner", "storage")
ALL_MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
UI = ROOT / "labeling" / "ui"
PAGES = sorted(UI.rglob("*.py")) + [ROOT / "app.py"]
LIBRARY = [p for p in ALL_MODULES if UI not in p.parents]
FORBIDDEN_IN_UI = {"sqlalchemy", "sqlmodel", "sqlite3", "torch", "pydicom", "storage.models", "storage.db",
                   "storage.hierarchy", "storage.migrate"}

# Each room's level; a module may import its own room and rooms of a lower level, never a room of
# its own level or above (intake and export, ui and cli, are peers that do not import each other).
LEVELS = {
    "storage": 0,
    "labeling.dicom": 1,
    "labeling.labels": 2,
    "labeling.intake": 3,
    "labeling.export": 3,
    "learner": 4,
    "labeling.ui": 5,
    "labeling.cli": 5,
}


def dotted(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str | None:
    """The room (key of LEVELS) a dotted module name belongs to."""
    return next((name for name in sorted(LEVELS, key=len, reverse=True)
                 if module == name or module.startswith(name + ".")), None)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, top level or inside functions, as full dotted names."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_rules_see_the_tree() -> None:
    assert len(LIBRARY) > 40 and len(PAGES) > 8
    assert room("labeling.dicom.frames") == "labeling.dicom" and room("labeling") is None


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_ui_holds_no_sql_torch_or_pydicom(path: Path) -> None:
    imported = imported_modules(path)
    assert not {m for m in imported if m in FORBIDDEN_IN_UI or m.split(".")[0] in FORBIDDEN_IN_UI}, path
    if "pages" in path.parts or path.name == "app.py":
        assert len(path.read_text().splitlines()) <= 100, f"{path} has grown past a thin page"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_library_never_imports_streamlit(path: Path) -> None:
    assert "streamlit" not in {m.split(".")[0] for m in imported_modules(path)}, path


@pytest.mark.parametrize("path", ALL_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_data_flow(path: Path) -> None:
    own = room(dotted(path))
    if own is None:
        return  # labeling/__init__.py
    upward = sorted(m for m in imported_modules(path)
                    if (other := room(m)) is not None and other != own and LEVELS[other] >= LEVELS[own])
    assert not upward, f"{dotted(path)} ({own}) imports against the flow: {upward}"


def test_dicom_imports_nothing_above_it() -> None:
    for path in (ROOT / "labeling" / "dicom").rglob("*.py"):
        assert not {m for m in imported_modules(path)
                    if m.startswith(("labeling.labels", "labeling.intake", "labeling.export", "labeling.ui",
                                     "labeling.cli", "learner"))}, path


def reads_medal_environment(path: Path) -> bool:
    """Whether the module reads a ``MEDAL_*`` variable through ``os.environ`` or ``os.getenv``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Call, ast.Subscript)):
            source = ast.unparse(node)
            if ("environ" in source or "getenv" in source) and "MEDAL_" in source:
                return True
    return False


def test_only_config_reads_medal_settings() -> None:
    readers = [p.relative_to(ROOT).as_posix() for p in LIBRARY + PAGES if reads_medal_environment(p)]
    assert readers == ["storage/config.py"]


def test_labeling_keeps_its_modules_in_rooms() -> None:
    loose = sorted(p.name for p in (ROOT / "labeling").glob("*.py"))
    assert len(loose) <= 6, loose


@pytest.mark.parametrize("path", ALL_MODULES + [ROOT / "app.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_says_its_job(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring and docstring.strip().splitlines()[0], f"{path} has no docstring"
