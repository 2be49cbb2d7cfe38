"""The layering rules. The import rules are data, Medal's one rulebook: the import-linter contracts in
``pyproject.toml`` (floors: storage ← labeling.dicom | labeling.access ← labeling.labels ← labeling.intake |
labeling.export ← learner ← benchmarks ← labeling.ui | labeling.cli; the library never imports Streamlit;
the UI holds no SQL, torch or pydicom). This file runs them, applies the UI contract to ``app.py`` (not in
a package, so outside the linter's view), and checks what imports cannot say: each room's ``__init__.py`` is
its public face (``__all__``) that other rooms import from, pages stay thin, settings are read in one place,
every module says its job.
"""

from __future__ import annotations

import ast
import functools
import importlib
import shutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("labeling", "learner", "storage", "benchmarks")
ALL_MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
UI = ROOT / "labeling" / "ui"
PAGES = sorted(UI.rglob("*.py")) + [ROOT / "app.py"]
LIBRARY = [p for p in ALL_MODULES if UI not in p.parents]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def contract(contract_id: str) -> dict:
    """One import-linter contract of ``pyproject.toml``."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in settings["contracts"] if c["id"] == contract_id)


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, capture_output=True, text=True, timeout=300)


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
    floors = contract("floors")["layers"]
    assert floors[-1] == "storage" and "labeling.ui" in floors[0]


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_import_contracts_catch_an_import_against_the_floors(tmp_path: Path) -> None:
    """The rulebook can fail: a copy of the tree where the labels import the learner breaks the floors."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "labeling" / "labels" / "spread.py").open("a") as module:
        module.write("\n\ndef _against_the_flow():\n    from learner import registry\n    import streamlit\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "labeling.labels.spread -> learner.registry" in result.stdout
    assert "-> streamlit" in result.stdout


def test_app_holds_no_sql_torch_or_pydicom() -> None:
    forbidden = set(contract("thin-ui")["forbidden_modules"])
    imported = imported_modules(ROOT / "app.py")
    assert not {m for m in imported if m in forbidden or m.split(".")[0] in forbidden}


# Each room's ``__init__.py`` is its public face: ``__all__`` names what other rooms may use, and they import it
# from there (``from labeling.labels import MIN_THRESHOLD``), never from the module that holds it. A room's own
# modules import each other by their full path. The rooms are the floors' packages and their sub-packages.
def floor_rooms() -> list[str]:
    """The rooms: the packages of the import-linter floors and every package below them."""
    floors = {name.strip() for layer in contract("floors")["layers"] for name in layer.split("|")}
    below = {".".join(init.parent.relative_to(ROOT).parts) for room in floors
             for init in (ROOT / room.replace(".", "/")).rglob("__init__.py")}
    return sorted(floors | below)


ROOMS = floor_rooms()


def room_of(module: str) -> str | None:
    """The innermost room that holds ``module`` (None for one outside them, such as app.py)."""
    return max((room for room in ROOMS if module == room or module.startswith(room + ".")), key=len, default=None)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def face(room: str) -> frozenset[str]:
    """The names of ``room``'s public face: its ``__init__``'s ``__all__`` (importing a face is cheap)."""
    return frozenset(importlib.import_module(room).__all__)


def face_breaches(source: str, module: str) -> list[str]:
    """The imports in ``source``, the text of ``module``, that reach into another room past its face: one of
    the room's modules instead of the room, or a name its ``__all__`` does not list."""
    own, found = room_of(module), []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [(node.module, [alias.name for alias in node.names])]
        else:
            continue
        for target, names in targets:
            room = room_of(target)
            if room is None or room == own:
                continue
            if target != room:
                found.append(f"{module}:{node.lineno} imports {target}; other rooms import from {room}")
                continue
            found += [f"{module}:{node.lineno} imports {name} from {room}, whose __all__ does not name it"
                      for name in names if name not in face(room) and f"{room}.{name}" not in ROOMS]
    return found


@pytest.mark.parametrize("path", ALL_MODULES + [ROOT / "app.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_other_rooms_are_reached_through_their_faces(path: Path) -> None:
    assert face_breaches(path.read_text(), module_name(path)) == []


def test_the_face_check_sees_a_reach_past_a_face() -> None:
    labels = "from labeling.labels.proposals import MIN_THRESHOLD\nfrom labeling.labels import as_outlines, propose\n"
    others = "import storage.models\nfrom learner.jobs import cancel\nfrom labeling.ui import access\n"
    assert face_breaches(labels + others, "learner.loop") == [
        "learner.loop:1 imports labeling.labels.proposals; other rooms import from labeling.labels",
        "learner.loop:2 imports propose from labeling.labels, whose __all__ does not name it",
        "learner.loop:3 imports storage.models; other rooms import from storage"]
    assert face_breaches(labels, "labeling.labels.spread") == []  # a room's own modules: by their full path


def test_every_face_holds_what_it_names() -> None:
    """Each name of a face resolves; it is a module only where the face lists a module as a namespace (a name
    that shares its module's name would be hidden by that module once imported)."""
    for room in ROOMS:
        package = importlib.import_module(room)
        homes = getattr(package, "_HOME", {})
        for name in package.__all__:
            is_module = isinstance(getattr(package, name), types.ModuleType)
            assert is_module == (homes.get(name) == name), f"{room}.{name}"


def test_importing_a_face_imports_none_of_its_modules() -> None:
    """The faces are lazy (PEP 562): importing one costs nothing, a name costs its own module only."""
    lazy = [room for room in ROOMS if hasattr(importlib.import_module(room), "_HOME")]
    code = (f"import sys\nimport {', '.join(lazy)}\n"
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('storage', 'labeling', 'learner',"
            " 'benchmarks', 'torch', 'sqlalchemy', 'numpy', 'pydicom', 'streamlit')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split()) - set(ROOMS) - {"labeling"}
    # storage binds config (light, stdlib only) and the faces' builder at once
    assert loaded == {"storage.config", "storage.errors", "storage.faces"}


def test_the_ui_reaches_no_forbidden_module_through_a_face() -> None:
    """The thin-UI contract, for the names the UI imports from a face (the linter sees only the package)."""
    forbidden = set(contract("thin-ui")["forbidden_modules"])
    reached = set()
    for path in PAGES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in ROOMS:
                homes = getattr(importlib.import_module(node.module), "_HOME", {})
                reached |= {f"{node.module}.{homes[alias.name]}" for alias in node.names if alias.name in homes}
    assert "storage.project" in reached and not reached & forbidden


@pytest.mark.parametrize("path", [p for p in PAGES if "pages" in p.parts or p.name == "app.py"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_stay_thin(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 100, f"{path} has grown past a thin page"


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


# The configured project is opened by the entry points only; everything below them is handed it.
PROJECT_OPENERS = ["app.py", "labeling/cli/admin.py", "labeling/cli/main.py"]  # `medal db` reads the URL only


def opens_the_configured_project(path: Path) -> bool:
    """Whether ``path`` calls ``current_project()`` or ``configured_database_url()`` (reads MEDAL_HOME's project)."""
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
               and node.func.id in ("current_project", "configured_database_url")
               for node in ast.walk(ast.parse(path.read_text())))


def context_defaults(path: Path) -> list[str]:
    """Functions of ``path`` whose ``engine`` or ``project`` parameter has a default (a hidden fallback)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            positional = args.posonlyargs + args.args
            defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
            pairs = list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
            found += [f"{node.name}({arg.arg}=…)" for arg, default in pairs
                      if arg.arg in ("engine", "project") and default is not None]
    return found


def test_only_the_entry_points_open_the_configured_project() -> None:
    openers = sorted(p.relative_to(ROOT).as_posix() for p in ALL_MODULES + [ROOT / "app.py"]
                     if opens_the_configured_project(p))
    assert openers == sorted(PROJECT_OPENERS)


def test_the_opener_check_sees_a_call(tmp_path: Path) -> None:
    module = tmp_path / "sneaky.py"
    module.write_text("from storage.project import current_project\n\ndef f():\n    return current_project().home\n")
    assert opens_the_configured_project(module)
    module.write_text("def f(*, project):\n    return project.home\n")
    assert not opens_the_configured_project(module)


@pytest.mark.parametrize("path", [p for p in ALL_MODULES if "project" in p.read_text() or "engine" in p.read_text()],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_defaults_its_project_or_engine(path: Path) -> None:
    assert context_defaults(path) == []


def test_the_default_check_sees_a_fallback(tmp_path: Path) -> None:
    module = tmp_path / "fallback.py"
    module.write_text("def f(image_id, engine=None):\n    pass\n\ndef g(*, project=None):\n    pass\n")
    assert context_defaults(module) == ["f(engine=…)", "g(project=…)"]


def imports_of_test_modules(path: Path) -> list[str]:
    """The test modules (``tests.….test_*``) that the file at ``path`` imports: helpers belong in tests/support."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        found += [name for name in names if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")]
    return found


def test_test_modules_share_helpers_through_tests_support() -> None:
    offenders = {str(path.relative_to(ROOT)): imports_of_test_modules(path)
                 for path in (ROOT / "tests").rglob("*.py")}
    assert not {path: names for path, names in offenders.items() if names}


def test_the_helper_check_sees_a_test_module_import(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text("from tests.ui.test_pages import logged_in\nimport tests.support.pages\n")
    assert imports_of_test_modules(tmp_path / "test_x.py") == ["tests.ui.test_pages"]
