"""A room's public face: the names other rooms may import from its package (``__all__``), each imported from
the module that holds it on first use (PEP 562), so importing a room costs nothing and a name costs its own
module only. A module listed under its own name is the module itself, used as a namespace."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_face(package: str, face: dict[str, tuple[str, ...]], eager: tuple[str, ...] = ()) -> tuple[
        list[str], Callable[[str], Any], dict[str, str]]:
    """``__all__``, the module ``__getattr__`` and each name's module, for ``package`` whose ``face`` maps each of
    its modules to the names other rooms use; ``eager`` names the package binds itself (in ``__all__`` too)."""
    homes = {name: module for module, names in face.items() for name in names}

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module attribute hook of PEP 562)
        """The face's ``name``, from the module that holds it (imported now if it was not yet)."""
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{homes[name]}")
        return module if name == homes[name] else getattr(module, name)

    return sorted([*homes, *eager]), __getattr__, homes
