"""The UCR/UEA datasets that ship inside the sktime wheel, found and named offline."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from suite.sequences.errors import refusal

# sktime's own fixture for its tests, not a dataset anyone trains on.
NOT_DATASETS = frozenset({"UnitTest"})


@functools.cache
def archive_folder() -> Path:
    """sktime/datasets/data of the installed sktime. Located by `find_spec`, which finds the
    package without running it: importing sktime (or `importlib.resources.files`, which does)
    costs about 1.7 s, and listing names is asked for on every study file parse."""
    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        raise refusal("archive", "sktime is not installed", "pip install 'sktime>=1.2'")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


@functools.cache
def archive_names() -> tuple[str, ...]:
    """Every bundled dataset with both a _TRAIN.ts and a _TEST.ts file, sorted."""
    folder = archive_folder()
    if not folder.is_dir():
        return ()
    return tuple(
        sorted(
            entry.name
            for entry in folder.iterdir()
            if entry.name not in NOT_DATASETS
            and (entry / f"{entry.name}_TRAIN.ts").is_file()
            and (entry / f"{entry.name}_TEST.ts").is_file()
        )
    )


def canonical_name(name: str) -> str:
    """The archive's spelling of `name`, matched without regard to case (japanesevowels)."""
    by_lower = {known.lower(): known for known in archive_names()}
    if name.lower() not in by_lower:
        raise refusal(
            f"archive dataset {name}",
            "no such dataset bundled with sktime",
            f"use one of {', '.join(archive_names())} (any case), or give a file",
        )
    return by_lower[name.lower()]


def archive_path(name: str) -> Path:
    """The _TRAIN.ts file of a bundled dataset; its _TEST.ts lies beside it."""
    known = canonical_name(name)
    return archive_folder() / known / f"{known}_TRAIN.ts"
