"""The grid point as a trial's Optuna params: a distribution for each grid key that varies, so
optuna-dashboard's trial list, importances, slice and parallel-coordinate plots read them."""

from __future__ import annotations

from collections.abc import Sequence

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from suite.study.config import Study
from suite.study.grid_keys import allowed_values
from suite.study.run_spec import RunSpec

# Grid keys whose values are open-ended (a dataset's name or path): no fixed choices for Optuna
# to hold, so they are not trial parameters; each trial still names its run_key and label.
FREE_TEXT_KEYS = frozenset({"dataset", "archive", "file"})


def grid_distributions(study: Study, specs: Sequence[RunSpec]) -> dict[str, BaseDistribution]:
    """An Optuna distribution for each grid key that varies, keyed by the grid key.

    Text and boolean keys get every value the field allows, not only the grid's, and numbers a
    range: Optuna refuses a categorical parameter whose choices change within a study, and a
    study's grid may grow (another seed, another cell) between invocations.
    """
    distributions: dict[str, BaseDistribution] = {}
    for key in study.grid or {}:
        values = {spec.value_of(key) for spec in specs}
        if len(values) < 2 or key in FREE_TEXT_KEYS:
            continue
        sample = next(iter(values))
        if isinstance(sample, bool):
            distributions[key] = CategoricalDistribution([False, True])
        elif isinstance(sample, str):
            distributions[key] = CategoricalDistribution(list(allowed_values(key)))
        elif isinstance(sample, int):
            distributions[key] = IntDistribution(min(values), max(values))
        else:
            log = key == "learning_rate"
            distributions[key] = FloatDistribution(min(values), max(values), log=log)
    return distributions
