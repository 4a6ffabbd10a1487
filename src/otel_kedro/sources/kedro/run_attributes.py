"""Attributes of the run span: what was run, how, and project statistics."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from otel_kedro import attributes as attr

_PARAMETERS = "parameters"
_PARAMETER_PREFIX = "params:"


def pipeline_label(run_params: Mapping[str, Any]) -> str:
    """The pipelines of a run as one name: ``__default__``, ``a`` or ``a+b``."""
    names = run_params.get("pipeline_names") or ["__default__"]
    return "+".join(str(name) for name in names)


def runner_name(run_params: Mapping[str, Any]) -> str:
    """The runner's class name from the repr string Kedro puts in ``run_params["runner"]``."""
    text = str(run_params.get("runner") or "SequentialRunner").strip()
    # "<kedro.runner.thread_runner.ThreadRunner object at 0x…>", "ThreadRunner(...)" or a name.
    head = text.strip("<>").split(" object at ")[0].split("(")[0]
    return head.rsplit(".", 1)[-1] or text


def is_parameter(dataset_name: str) -> bool:
    """True for Kedro's parameter entries, which are not datasets."""
    return dataset_name == _PARAMETERS or dataset_name.startswith(_PARAMETER_PREFIX)


def _dataset_type(catalog: Any, name: str) -> str:
    """A catalog entry's type without importing its class: as the catalog configuration names
    it for an entry not yet materialised (Kedro 1.x keeps those as ``_LazyDataset`` with their
    config), else the class of the materialised dataset.

    ``catalog.get_type`` would import the class of every lazy entry (``_LazyDataset.__repr__``
    parses the definition): a ``--pipeline`` run would then import every dataset type of the
    project (matplotlib, plotly, Excel readers…), ≈ 0.9 s on the spaceflights starter.
    """
    lazy = getattr(catalog, "_lazy_datasets", None)  # Kedro-private; absent on other catalogs
    entry = lazy.get(name) if isinstance(lazy, Mapping) else None
    config = getattr(entry, "config", None)
    if isinstance(config, Mapping):
        return configured_type(config.get("type"))
    return catalog.get_type(name) or "unknown"  # materialised: type() of an existing object


def configured_type(value: Any) -> str:
    """The dotted name a catalog ``type:`` resolves to, found as Kedro finds it
    (``kedro.io.``, then ``kedro_datasets.``, then as written) but without importing any
    dataset module: ``pandas.CSVDataset`` is ``kedro_datasets.pandas.CSVDataset``.
    """
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if not isinstance(value, str) or not value.strip():
        return "unknown"
    head = value.split(".", 1)[0]
    if "." not in value and _in_kedro_io(head):
        return f"kedro.io.{value}"
    if "." in value and head in _kedro_datasets_packages():
        return f"kedro_datasets.{value}"
    return value


def _in_kedro_io(name: str) -> bool:
    import kedro.io  # already imported by any Kedro session

    return hasattr(kedro.io, name)


@functools.cache
def _kedro_datasets_packages() -> frozenset[str]:
    """Subpackage names of ``kedro_datasets`` (``pandas``, ``plotly``…), read from its folder:
    finding a top-level package's spec imports nothing.
    """
    try:
        spec = importlib.util.find_spec("kedro_datasets")
    except (ImportError, ValueError):
        return frozenset()
    names: set[str] = set()
    for location in (spec.submodule_search_locations or []) if spec else []:
        with contextlib.suppress(OSError):
            names.update(
                entry.name
                for entry in os.scandir(location)
                if entry.is_dir() and (Path(entry.path) / "__init__.py").exists()
            )
    return frozenset(names)


def _project_statistics(pipeline: Any, catalog: Any) -> dict[str, Any]:
    """Counts in the spirit of kedro-telemetry's "Kedro Project Statistics" event."""
    result: dict[str, Any] = {attr.KEDRO_PIPELINE_NODE_COUNT: len(pipeline.nodes)}
    names = [name for name in catalog.keys() if not is_parameter(name)]  # noqa: SIM118
    result[attr.KEDRO_PROJECT_DATASET_COUNT] = len(names)
    types = Counter(_dataset_type(catalog, name) for name in names)
    for type_name, count in sorted(types.items()):
        result[attr.KEDRO_PROJECT_DATASET_TYPE_COUNT_PREFIX + type_name] = count
    from kedro.framework.project import pipelines

    # Only what this run loaded anyway: forcing every pipeline module to import would undo
    # Kedro's selective loading.
    registered = dict(pipelines.items())
    result[attr.KEDRO_PROJECT_PIPELINE_COUNT] = len(registered)
    default = registered.get("__default__")
    if default is not None:
        result[attr.KEDRO_PROJECT_NODE_COUNT] = len(default.nodes)
    return result


def run_attributes(run_params: Mapping[str, Any], pipeline: Any, catalog: Any) -> dict[str, Any]:
    """Every attribute of the run span known when it starts."""
    run_id = str(run_params.get("run_id") or "")
    result: dict[str, Any] = {
        attr.CICD_PIPELINE_NAME: pipeline_label(run_params),
        attr.CICD_PIPELINE_RUN_ID: run_id,
        attr.KEDRO_PIPELINE_NAMES: [str(n) for n in run_params.get("pipeline_names") or []]
        or ["__default__"],
        attr.KEDRO_RUNNER: runner_name(run_params),
        attr.KEDRO_SESSION_ID: str(run_params.get("session_id") or run_id),
        attr.KEDRO_VERSION: str(run_params.get("kedro_version") or ""),
    }
    if run_params.get("env"):
        result[attr.KEDRO_ENV] = str(run_params["env"])
    # Statistics are a bonus: a custom catalog may not offer keys() or get_type().
    with contextlib.suppress(Exception):
        result.update(_project_statistics(pipeline, catalog))
    return result
