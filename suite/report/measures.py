"""What a study's runs measure, as the report reads and writes it: accuracy for classes, the
root mean squared error in the target's own units for a regression target. The schema's
Measure names the metrics and curves and says which way is better; this module adds the
report's side of it.

Collect learns each study's measure from the record (`measure_of`), never from its data, and
copies that measure's metrics into measure-neutral columns of the runs table (`with_values`),
so the ranking, the statistics and the sections read one set of columns whatever the task.
What they say comes from the Measure (`words`, `maximise`), how they write a number from
`value_format` and `difference_format` here.
"""

from __future__ import annotations

import pandas as pd

from suite.report.content import (
    FOUR_DIGITS,
    FOUR_PLACES,
    SIGNED_FOUR_DIGITS,
    SIGNED_FOUR_PLACES,
    Formatter,
)
from suite.schema import Measure, Metric

TASK_PARAM = "param.task"  # every run on data other than MNIST logs its task
# A regression run's training targets' (population) std: the RMSE of predicting their mean
TARGET_STD_PARAM = "param.target_std"
# The measure-neutral columns of the runs table (one row per run):
TEST_VALUE = "test_value"  # its test accuracy, or test RMSE
BEST_VAL_VALUE = "best_val_value"  # its best epoch's validation accuracy, or lowest val RMSE
GAP = "gap"  # the last epoch's training value minus its validation value
CLASSIFICATION = Measure("classification")  # accuracy: every default below (a study's before
REGRESSION = Measure("regression")  # regression existed)
# Each measure's metrics as the record holds them: every one is read, the study's is used.
RECORDED = tuple(
    m for measure in (CLASSIFICATION, REGRESSION) for m in (measure.test, measure.best_val)
)
LAST_VALUES = tuple(dict.fromkeys(c for m in (CLASSIFICATION, REGRESSION) for c in m.curves[:4]))


def measure_of(runs: pd.DataFrame) -> Measure:
    """What a study's runs measure, from the record: RMSE where a run's `task` param is
    regression, or, for a run without that param, where one logged a test RMSE; else
    accuracy (MNIST's runs log no task). The runs of one study are all of one task."""
    tasks = runs.get(TASK_PARAM, pd.Series(dtype=object)).astype(str)
    rmse = pd.to_numeric(runs.get(Metric.TEST_RMSE, pd.Series(dtype=float)), errors="coerce")
    regression = bool((tasks == "regression").any() or rmse.notna().any())
    return REGRESSION if regression else CLASSIFICATION


def with_values(runs: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """The runs with their measure's test value, best validation value and last-epoch gap
    (train minus validation) under the neutral names above."""
    runs = runs.copy()

    def number(column: str) -> pd.Series:
        return pd.to_numeric(runs.get(column, pd.Series(index=runs.index)), errors="coerce")

    runs[TEST_VALUE] = number(measure.test)
    runs[BEST_VAL_VALUE] = number(measure.best_val)
    runs[GAP] = number(measure.name) - number(f"val_{measure.name}")
    return runs


def value_format(measure: Measure) -> Formatter:
    """How a value is written: an accuracy to four places, an RMSE to four significant
    digits (its units are the target's, of any size)."""
    return {"accuracy": FOUR_PLACES, "rmse": FOUR_DIGITS}[measure.name]


def difference_format(measure: Measure) -> Formatter:
    """How a difference of two values is written, signed."""
    return {"accuracy": SIGNED_FOUR_PLACES, "rmse": SIGNED_FOUR_DIGITS}[measure.name]


def heading(measure: Measure) -> str:
    """The measure's words at the start of a title: Accuracy, RMSE."""
    return measure.words[0].upper() + measure.words[1:]
