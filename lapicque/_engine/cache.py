"""The bounded cache of compiled runs, keyed by structure only.

A compiled run is a function of arrays (see :mod:`lapicque._engine.loop`); its key
is the module tree's structure (:attr:`lapicque._engine.tree.ModuleTree.key`), the
run configuration, the layout and the input's shape, dtype and unit.  Two
modules of the same structure share one program, whatever their parameter
values.  Objects the key names by identity (a current function, a plain
callable input) are held weakly and checked on every hit, so a recycled
``id`` never serves a stale program.  The cache holds no module: a model
passed to :func:`lapicque.simulate` is freed once the user drops it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional

from .tree import ModuleTree

__all__ = ["CompiledRuns", "COMPILED"]


class CompiledRuns:
    """A least-recently-used map ``key -> entry`` of at most ``max_entries`` compiled runs."""

    def __init__(self, max_entries: int = 32):
        self.max_entries = int(max_entries)
        self._entries: "OrderedDict[Any, dict]" = OrderedDict()

    def __len__(self):
        return len(self._entries)

    def get(self, key) -> Optional[dict]:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not ModuleTree.identities_alive(entry["identities"]):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key, entry: dict):
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self):
        self._entries.clear()


#: the process-wide cache used by :func:`lapicque.simulate`
COMPILED = CompiledRuns()
