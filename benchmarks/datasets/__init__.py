"""Bug datasets for `patchwarden bench`. One module per dataset; the module name is its name.

Each module defines `NAME`, `HELP`, `load(path) -> Iterator[Bug]` and
`materialise(bug, dest) -> (repo, test_cmd)` (see `base.Dataset`). To add a dataset,
drop one more file here; `patchwarden bench run <its name>` picks it up.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from .base import Bug, Dataset, DatasetError, safe_name

_NOT_DATASETS = {"base"}


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_DATASETS and not m.name.startswith("_"))


def get_dataset(name: str) -> ModuleType:
    names = available()
    if name not in names:
        raise DatasetError(f"unknown dataset {name!r}: choose one of {', '.join(names)}")
    return importlib.import_module(f"{__name__}.{name}")


def load_bugs(name: str, path: str | None = None, limit: int | None = None, options: dict | None = None) -> list[Bug]:
    """The dataset's bugs in its own order (first `limit` of them); ids must be unique.
    `options` are the dataset's own settings (swebench: repos, repo_config, image_template)."""
    import inspect

    bugs: list[Bug] = []
    seen: set[str] = set()
    dataset = get_dataset(name)
    options = {k: v for k, v in (options or {}).items() if v is not None}
    unknown = [k for k in options if k not in inspect.signature(dataset.load).parameters]
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise DatasetError(f"{flags} do(es) not apply to the {name} dataset; drop it or choose a dataset that takes it (see `bench list`)")
    for bug in dataset.load(path, **options):
        if bug.slug in seen:
            raise DatasetError(f"dataset {name}: two bugs share the id {bug.id!r} (as a directory name {bug.slug!r}); make ids unique")
        seen.add(bug.slug)
        bugs.append(bug)
        if limit is not None and len(bugs) >= limit:
            break
    return bugs


__all__ = ["Bug", "Dataset", "DatasetError", "available", "get_dataset", "load_bugs", "safe_name"]
