"""sources.kedro.nodes: a run's scope looks datasets up in the current catalog without keeping
any catalog alive (a ParallelRunner worker gets a new one, full of manager proxies, per task).
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.trace import NoOpTracer

from otel_kedro.sources.kedro.nodes import RunScope


class _Catalog:
    def __init__(self, types: dict[str, str]) -> None:
        self.types = types

    def get_type(self, name: str) -> str | None:
        return self.types.get(name)


class _SlottedCatalog:  # no weak references to it
    __slots__ = ("types",)

    def __init__(self, types: dict[str, str]) -> None:
        self.types = types

    def get_type(self, name: str) -> str | None:
        return self.types.get(name)


def _scope(catalog: Any) -> RunScope:
    return RunScope(NoOpTracer(), otel_context.get_current(), True, catalog)


def test_a_catalog_is_used_while_kedro_holds_it_and_freed_when_kedro_lets_it_go() -> None:
    """The task's catalog answers while it lives; once its owner drops it, it is gone (no
    reference of ours kept it), and the scope simply knows no type for new names.
    """
    first = _Catalog({"a": "kedro.io.MemoryDataset"})
    scope = _scope(first)
    assert scope.dataset_type("a") == "kedro.io.MemoryDataset"
    second = _Catalog({"b": "pandas.CSVDataset"})
    scope.use_catalog(second)
    released = [False]
    weakref.finalize(first, lambda: released.__setitem__(0, True))
    del first
    gc.collect()
    assert released == [True], "the previous task's catalog was not kept alive"
    assert scope.dataset_type("b") == "pandas.CSVDataset"
    assert scope.dataset_type("a") == "kedro.io.MemoryDataset", "types found stay known"
    del second
    gc.collect()
    assert scope.dataset_type("c") is None
    assert scope.dataset_files("c", saved=False) == {}


def test_a_catalog_without_weak_references_is_held() -> None:
    """A catalog class that refuses weak references is still used (held strongly)."""
    scope = _scope(None)
    assert scope.dataset_type("a") is None
    scope.use_catalog(_SlottedCatalog({"a": "x.Y"}))
    gc.collect()
    assert scope.dataset_type("a") == "x.Y"
