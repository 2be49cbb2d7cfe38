"""Pages stay thin (no SQL, torch or pydicom) and the library never imports streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "labeling" / "pages").rglob("*.py")) + [ROOT / "app.py"]
LIBRARY = [p for package in ("labeling", "learner", "storage") for p in (ROOT / package).rglob("*.py")
           if "pages" not in p.parts]
FORBIDDEN_IN_PAGES = {"sqlalchemy", "sqlmodel", "torch", "pydicom", "sqlite3", "storage"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_pages_import_no_sql_torch_or_pydicom() -> None:
    assert PAGES
    for page in PAGES:
        assert not imported_modules(page) & FORBIDDEN_IN_PAGES, page
        assert len(page.read_text().splitlines()) <= 100, f"{page} has grown past a thin page"


def test_library_never_imports_streamlit() -> None:
    assert LIBRARY
    for module in LIBRARY:
        assert "streamlit" not in imported_modules(module), module
