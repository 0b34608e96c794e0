"""The workloads: each is a function registered under a name by @workload in a module of bench/workloads/.

A workload gets the run's options, seeds what it needs into its own database (bench.databases.fresh_database)
and returns its figures as a dict; the runner adds what describes the run (database, machine, date).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

from bench.servers import LoadOptions


@dataclass(frozen=True)
class Options:
    workers: int
    load: LoadOptions


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    run: Callable[[Options], dict[str, Any]]


_WORKLOADS: dict[str, Workload] = {}


def workload(name: str, description: str) -> Callable[[Callable[[Options], dict[str, Any]]], Callable[[Options], dict[str, Any]]]:
    def register(run: Callable[[Options], dict[str, Any]]) -> Callable[[Options], dict[str, Any]]:
        if name in _WORKLOADS:
            raise ValueError(f"two workloads are named {name!r}")
        _WORKLOADS[name] = Workload(name, description, run)
        return run

    return register


def all_workloads() -> dict[str, Workload]:
    """Every workload, by name: importing each module of bench.workloads registers its own."""
    import bench.workloads

    for module in pkgutil.iter_modules(bench.workloads.__path__):
        importlib.import_module(f"bench.workloads.{module.name}")
    return dict(sorted(_WORKLOADS.items()))
