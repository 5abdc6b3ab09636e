"""What every section of a study shares: the frozen base model, seeds, safe names and the
bounds on numbers."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

# Bounds on values that validate as numbers but would fail, or never end, once training starts.
MAX_SEED = 2**32 - 1  # numpy's RandomState (Keras's set_random_seed, Optuna's samplers)
# Per direction. Past this, one layer's weights alone outgrow a GPU (100,000 GRU units: 120 GB);
# below it, suite.forecast.memory judges whether the study's largest run fits this machine.
MAX_UNITS = 100_000
MAX_PARAMS = 1_000_000_000  # a budget in weights: 4 GB of float32 weights, past any grid here
MAX_EPOCHS = 1_000
MAX_LEARNING_RATE = 10.0  # more is a slip (1e1 for 1e-1), never a rate these models train at
MAX_GRID_RUNS = 10_000  # the product of the grid's list lengths, checked before expanding it


def seed_problem(value: Any) -> str | None:
    """Why `value` cannot seed numpy, TensorFlow and Optuna, or None if it can."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        return (
            f"a seed must be a non-negative integer below 2**32 (at most {MAX_SEED:,}, numpy's"
            f" limit), got {value!r}"
        )
    return None


def _check_seed(value: int) -> int:
    if problem := seed_problem(value):
        raise ValueError(problem)
    return value


Seed = Annotated[int, AfterValidator(_check_seed)]


# Names reach file paths (artifact folders, report files) and URIs: with only these
# characters, `../` or `#` cannot take a study's files outside its store or into another's.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class Frozen(BaseModel):
    # allow_inf_nan=False: YAML's .inf passes every lower bound and .nan every bound (it
    # compares False), only to fail, or train garbage, once the run starts.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
