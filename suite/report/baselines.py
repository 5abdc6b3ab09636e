"""Published test accuracies of non-recurrent classifiers (ROCKET, HC2, ResNet, ...) on the
bundled archive datasets: context printed beside the suite's runs, never ranked among them.

The table ships as package data (suite/datasets/published_baselines.csv, written by
scripts/extract_baselines.py from the pinned tsml-eval wheel; its sources are attributed in
suite/datasets/README.md). Each row's `what` says which number it is: mostly the archive's
default train/test split, the one the suite trains on.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources

import pandas as pd

RESOURCE = "published_baselines.csv"
COLUMNS = ("dataset", "classifier", "accuracy", "what", "mean_over_resamples", "source")

# Bundled classification datasets without a published baseline that could be read here; the
# README beside the table says the same.
NO_PUBLISHED_BASELINES = {
    "BasicMotions": (
        "multivariate: not in the univariate bake-off, and no multivariate results ship in "
        "tsml-eval 0.6.0 (nor in Ismail Fawaz et al. 2019's MTS archive)"
    ),
}


@functools.cache
def _table() -> pd.DataFrame:
    with resources.files("suite.datasets").joinpath(RESOURCE).open("rb") as file:
        table = pd.read_csv(file, dtype={"dataset": str, "classifier": str, "what": str})
    return table[list(COLUMNS)]


def published_baselines(datasets: Iterable[str]) -> pd.DataFrame:
    """Other classifiers' published test accuracies on `datasets`, never ranked among our runs."""
    # Any case: a study may write `archive: gunpoint`; the rows keep the archive's spelling.
    wanted = {name.lower() for name in datasets}
    table = _table()
    rows = table[table["dataset"].str.lower().isin(wanted)]
    return rows.reset_index(drop=True).copy()  # a copy: callers may not edit the cache
