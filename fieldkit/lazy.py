"""Imports by name, on first use: the one place fieldkit defers a module until it runs.

A command should load only what it runs (issue 17: `import fieldkit.cli` was 0.25-0.29 s
of CPU, most of it modules the command never used). Two users, both documented in
docs/decisions.md: `fieldkit.services` hands out its re-exported names and submodules
through a PEP 562 module `__getattr__` made here, and the CLI's root and `case` groups
load a command module when its command is asked for (`fieldkit.cli.base.LazyGroup`),
through `attribute`. The layer and cycle tests do not see these imports (they are
strings): every name given here stays within its own layer or below, and the static
imports under `TYPE_CHECKING` beside each table keep mypy and the layer test seeing them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def attribute(module: str, name: str | None = None) -> Any:
    """`module.name` (or the module itself), importing the module if it is not loaded yet."""
    loaded = importlib.import_module(module)
    return loaded if name is None else getattr(loaded, name)


def package_getattr(
    namespace: dict[str, Any], names: Mapping[str, str], submodules: frozenset[str]
) -> Callable[[str], Any]:
    """A PEP 562 `__getattr__` for the package whose `globals()` is `namespace`: `names`
    maps an attribute to the module it comes from; each of `submodules` is imported as
    `package.sub`. The value is kept in the namespace, so each name is looked up once."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name in names:
            value = attribute(names[name], name)
        elif name in submodules:
            value = attribute(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    return __getattr__
