"""Comparison statistics over finished runs: intervals, pivots, effects, significance.

Which configuration is best is `suite.report.ranking`'s rule; this module compares.

Each statistic is of the runs' test value of the study's measure (test accuracy, or test RMSE
for regression: `TEST_VALUE`), by the same formulas; only words that say "better" follow its
direction. Every interval is a 95% t-interval; differences use Welch's test (unequal
variances), and the comparisons against the best configuration are Holm-corrected. Intervals
and tests need seeds: a group in which some configuration has fewer than two seeds gets none
(its spread would be the spread between configurations, not seed noise), and the tables say
so instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from suite.report.measures import TEST_VALUE

CORE_FACTORS = ("cell", "direction", "depth")
CELL_ORDER = ("simple_rnn", "lstm", "gru")
DIRECTION_ORDER = ("unidirectional", "bidirectional")
ALPHA = 0.05


def seed_counts(finished: pd.DataFrame) -> pd.Series:
    return finished.groupby("config")["seed"].nunique()


def min_seeds(group: pd.DataFrame) -> int:
    """The fewest seeds of any configuration in `group`: what its statistics rest on."""
    return int(seed_counts(group).min()) if len(group) else 0


def mean_ci(values: Sequence[float] | pd.Series) -> dict[str, float]:
    """n, mean, sample std and the 95% t-interval of the mean (NaN when n < 2)."""
    x = np.asarray(pd.Series(values).dropna(), dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else float("nan")
    if n < 2:
        return {
            "n": n,
            "mean": mean,
            "std": float("nan"),
            "ci_low": float("nan"),
            "ci_high": float("nan"),
        }
    std = float(x.std(ddof=1))
    if std == 0:  # seeds that agree exactly (a small test set): scipy's NaN, without its warning
        return {"n": n, "mean": mean, "std": std, "ci_low": math.nan, "ci_high": math.nan}
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=std / np.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci_low": float(low), "ci_high": float(high)}


def pivot(
    finished: pd.DataFrame,
    direction: str,
    *,
    cells: Sequence[str] = (),
    depths: Sequence[int] = (),
) -> pd.DataFrame:
    """Mean test value, cells as rows and depths as columns, for one direction.

    `cells` and `depths` are the grid's levels when known: a grid point with no finished run
    stays in the table as a missing value instead of vanishing.
    """
    subset = finished[finished["direction"] == direction]
    table = subset.pivot_table(index="cell", columns="depth", values=TEST_VALUE, aggfunc="mean")
    present = set(table.index) | set(cells)
    order = [c for c in CELL_ORDER if c in present] + sorted(present - set(CELL_ORDER))
    columns = sorted(set(table.columns) | set(depths))
    return table.reindex(index=order, columns=columns)


def without_interval(summary: dict[str, float]) -> dict[str, float]:
    return {**summary, "std": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}


def main_effects(finished: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """Each factor's levels, averaged over every other factor (all runs at that level).

    A level gets an interval only when each of its configurations has two seeds or more.
    """
    rows = []
    for factor in factors:
        if finished[factor].nunique() < 2:
            continue
        for level, group in finished.groupby(factor, sort=True):
            summary = mean_ci(group[TEST_VALUE])
            rows.append(
                {
                    "factor": factor.removeprefix("param."),
                    "level": str(level),
                    **(summary if min_seeds(group) >= 2 else without_interval(summary)),
                }
            )
    return pd.DataFrame(rows, columns=["factor", "level", "n", "mean", "std", "ci_low", "ci_high"])


def compare(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    """Welch's comparison of two groups of runs' test value; the difference alone (no
    interval, no p) unless every configuration on both sides has two seeds or more."""
    result = welch(a[TEST_VALUE], b[TEST_VALUE])
    if min(min_seeds(a), min_seeds(b)) < 2:
        nan = float("nan")
        return {**result, "ci_low": nan, "ci_high": nan, "p": nan}
    return result


def welch(a: pd.Series, b: pd.Series) -> dict[str, float]:
    """mean(a) - mean(b), its 95% Welch interval and two-sided p (NaN with < 2 in a side)."""
    a, b = a.dropna().astype(float), b.dropna().astype(float)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else float("nan")
    if len(a) < 2 or len(b) < 2:
        return {
            "difference": diff,
            "ci_low": float("nan"),
            "ci_high": float("nan"),
            "p": float("nan"),
        }
    result = stats.ttest_ind(a, b, equal_var=False)
    interval = result.confidence_interval(0.95)
    p = float(result.pvalue)
    if np.isnan(p):  # both groups constant: equal means are indistinguishable, unequal are not
        p = 1.0 if diff == 0 else 0.0
    return {
        "difference": diff,
        "ci_low": float(interval.low),
        "ci_high": float(interval.high),
        "p": p,
    }


def effects_per_cell(finished: pd.DataFrame) -> pd.DataFrame:
    """Per cell: bidirectional minus unidirectional, and each depth minus depth 1."""
    rows = []
    for cell, group in finished.groupby("cell", sort=False):
        directions = set(group["direction"])
        if set(DIRECTION_ORDER) <= directions:
            rows.append(
                {
                    "cell": cell,
                    "effect": "bidirectional - unidirectional",
                    **compare(
                        group[group["direction"] == "bidirectional"],
                        group[group["direction"] == "unidirectional"],
                    ),
                }
            )
        depths = sorted(group["depth"].dropna().unique())
        for depth in depths[1:]:
            rows.append(
                {
                    "cell": cell,
                    "effect": f"depth {depth} - depth {depths[0]}",
                    **compare(group[group["depth"] == depth], group[group["depth"] == depths[0]]),
                }
            )
    order = {c: i for i, c in enumerate(CELL_ORDER)}
    table = pd.DataFrame(rows, columns=["cell", "effect", "difference", "ci_low", "ci_high", "p"])
    return table.sort_values("cell", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True
    )


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (statsmodels'); NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(len(p), np.nan)
    valid = ~np.isnan(p)
    if valid.any():
        adjusted[valid] = multipletests(p[valid], method="holm")[1]
    return adjusted.tolist()


def against_best(
    finished: pd.DataFrame, board: pd.DataFrame, *, higher_is_better: bool = True
) -> pd.DataFrame:
    """Each configuration with two seeds or more against the best one (ranked by validation):
    Welch's t-test on the test value, Holm-corrected; `higher_is_better`: the measure's
    direction, which the verdicts' words follow. Configurations with fewer seeds are left
    out (see `untestable`); with fewer than two seeds for the best, nothing is tested."""
    rows = []
    for study, configs in board.groupby("study", sort=False):
        best = configs.iloc[0]["config"]
        if configs.iloc[0]["seeds"] < 2:
            continue
        runs = finished[finished["study"] == study]
        best_runs = runs.loc[runs["config"] == best, TEST_VALUE]
        tests = []
        for config in configs.loc[configs["seeds"] >= 2, "config"].iloc[1:]:
            result = welch(runs.loc[runs["config"] == config, TEST_VALUE], best_runs)
            tests.append({"study": study, "config": config, "best": best, **result})
        adjusted = holm([t["p"] for t in tests])
        for test, p_holm in zip(tests, adjusted, strict=True):
            words = verdict(test["difference"], p_holm, higher_is_better=higher_is_better)
            rows.append({**test, "p_holm": p_holm, "verdict": words})
    columns = [
        "study",
        "config",
        "best",
        "difference",
        "ci_low",
        "ci_high",
        "p",
        "p_holm",
        "verdict",
    ]
    return pd.DataFrame(rows, columns=columns)


def untestable(board: pd.DataFrame) -> list[str]:
    """Configurations that cannot be tested against the best: fewer than two seeds on a side."""
    if board.empty or board.iloc[0]["seeds"] < 2:
        return board["config"].iloc[1:].tolist()
    return board.loc[board["seeds"] < 2, "config"].tolist()


def verdict(difference: float, p_holm: float, *, higher_is_better: bool = True) -> str:
    """A configuration minus the best, in words: worse, better, or not distinguishable."""
    if p_holm < ALPHA:
        worse = difference < 0 if higher_is_better else difference > 0
        return f"{'worse' if worse else 'better'}, p = {p_holm:.3g}"
    return f"not distinguishable, p = {p_holm:.3g}"


def non_dominated(
    points: pd.DataFrame, *, cost: str, gain: str, higher_is_better: bool = True
) -> pd.Series:
    """Whether each row is on the Pareto front: no other row costs no more and gains no less,
    better on one of the two (rows equal on both are all on it; a row missing either value is
    on none). `higher_is_better=False`: `gain` is an error (an RMSE), and lower gains more.
    Written by hand: pandas and
    scipy have no such function, and a few hundred configurations need no index (n^2)."""
    costs, gains = points[cost].to_numpy(dtype=float), points[gain].to_numpy(dtype=float)
    if not higher_is_better:
        gains = -gains
    known = ~(np.isnan(costs) | np.isnan(gains))  # a row without both values is on no front
    on_front = [
        bool(known[i])
        and not np.any(known & (costs <= c) & (gains >= g) & ((costs < c) | (gains > g)))
        for i, (c, g) in enumerate(zip(costs, gains, strict=True))
    ]
    return pd.Series(on_front, index=points.index)
