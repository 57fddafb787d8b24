"""Arms the compatibility fixes before allennlp is imported.

This module is imported from ``mtdnn_allennlp_compat.pth`` when any Python in the environment
starts, so it must stay cheap: it imports neither torch nor allennlp. ``install()`` puts one
finder at the front of ``sys.meta_path``. The finder ignores every module except the few that a
fix names. For those, it wraps the real loader so that the fix runs just before or just after
the module's code executes. A "before" fix can prepare what the module needs at import time (a
missing attribute, a missing package); an "after" fix can rebind a name inside the module.
"""

import importlib.abc
import importlib.machinery
import sys
import types
from typing import Dict, List, Optional

_installed = False


class _FixingLoader(importlib.abc.Loader):
    """Runs a module's "before" fixes, its code, then its "after" fixes."""

    def __init__(self, loader: importlib.abc.Loader, fullname: str) -> None:
        self._loader = loader
        self._fullname = fullname

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        from mtdnn_allennlp.compat import fixes

        fixes.run(self._fullname, "before", module)
        self._loader.exec_module(module)
        fixes.run(self._fullname, "after", module)

    def __getattr__(self, name: str):
        # get_source, get_code, is_package...: inspect, pdb and tracebacks ask the real loader.
        return getattr(self._loader, name)


class _FixingFinder(importlib.abc.MetaPathFinder):
    def __init__(self, watched: Dict[str, List[str]]) -> None:
        self._watched = watched

    def find_spec(self, fullname, path, target=None):
        if fullname not in self._watched:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _FixingLoader(spec.loader, fullname)
                return spec
        return None


def install() -> None:
    """Arms every fix. Idempotent; never raises, because it runs at interpreter start."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        from mtdnn_allennlp.compat import fixes

        sys.meta_path.insert(0, _FixingFinder(fixes.watched_modules()))
        # A module imported before the hook was armed (only possible when the .pth was skipped,
        # e.g. `python -S`) still gets its "after" fixes now.
        for name in fixes.watched_modules():
            if name in sys.modules:
                fixes.run(name, "after", sys.modules[name])
    except Exception as error:  # pragma: no cover - a broken hook must not break Python itself
        sys.stderr.write(f"mtdnn_allennlp: compatibility hook not armed: {error!r}\n")
