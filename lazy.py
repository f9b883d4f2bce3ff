"""Lazy package exports: a package's public names are imported on first use, so importing one submodule (a kernel
in a co-simulation bench) does not load the whole package.

``export_lazily(__name__, {".module": ["name", ...]}, submodules=(...))`` in a package's ``__init__`` installs its
``__getattr__``, ``__dir__`` and ``__all__``. A name that is both a submodule and the function it exports (``passes``,
``evaluate``) stays the function even after the import system binds the submodule to the package.
"""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["export_lazily"]


def export_lazily(package: str, exports: dict[str, list[str]], *, submodules: tuple[str, ...] = ()) -> None:
    """Make ``exports`` (submodule -> the names it gives) and ``submodules`` attributes of ``package`` on first use."""
    home = {name: module for module, names in exports.items() for name in names}
    module = sys.modules[package]

    def __getattr__(name: str):
        if name in home:
            value = getattr(importlib.import_module(home[name], package), name)
        elif name in submodules:
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(module, name, value)
        return value

    def __dir__():
        return sorted(set(vars(module)) | set(module.__all__))

    module.__getattr__, module.__dir__ = __getattr__, __dir__
    module.__all__ = [*home, *submodules]
    shadowed = [name for name, source in home.items() if source == f".{name}"]
    if shadowed:
        module.__class__ = type("LazyPackage", (types.ModuleType,),
                                {name: _function_over_submodule(package, name) for name in shadowed})


def _function_over_submodule(package: str, name: str) -> property:
    """A package attribute that is always the function ``name`` of submodule ``name`` (binding it is ignored)."""
    return property(lambda self: getattr(importlib.import_module(f".{name}", package), name),
                    lambda self, value: None)
