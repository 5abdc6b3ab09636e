"""Comparison statistics over finished runs: leaderboard, pivots, effects, significance.

One rule for "best": configurations are ranked by their validation score, the mean over seeds
of each run's best-epoch validation accuracy (the value the Optuna trial records); test
accuracy is the estimate reported for them, never the selector. Equal scores are ties.

Every interval is a 95% t-interval; differences use Welch's test (unequal variances), and the
comparisons against the best configuration are Holm-corrected. Intervals and tests need seeds:
a group in which some configuration has fewer than two seeds gets none (its spread would be
the spread between configurations, not seed noise), and the tables say so instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from suite.schema import config_label

CORE_FACTORS = ("cell", "direction", "depth")
CELL_ORDER = ("simple_rnn", "lstm", "gru")
DIRECTION_ORDER = ("unidirectional", "bidirectional")
ALPHA = 0.05
CHANCE_ACCURACY = 0.10  # ten digits, guessed uniformly
NEAR_CHANCE_MARGIN = 0.10  # accuracy below chance + this is flagged: nothing was learned


@dataclass(frozen=True)
class Selection:
    """The validation score that ranks configurations: what each run's Optuna trial holds as
    its value (the best epoch's validation accuracy, or a search's lowest validation loss)."""

    column: str  # a column of the runs table
    name: str  # as a table header says it
    words: str  # as a sentence says it
    higher_is_better: bool

    def best_index(self, scores: pd.Series) -> Any:
        return scores.idxmax() if self.higher_is_better else scores.idxmin()


BY_VAL_ACCURACY = Selection(
    "best_val_accuracy", "val accuracy", "validation accuracy", higher_is_better=True
)
BY_VAL_LOSS = Selection("best_val_loss", "val loss", "validation loss", higher_is_better=False)
SELECTIONS = {"val_accuracy": BY_VAL_ACCURACY, "val_loss": BY_VAL_LOSS}  # by Optuna objective


def near_chance(accuracy: float) -> bool:
    return bool(accuracy < CHANCE_ACCURACY + NEAR_CHANCE_MARGIN)


def one_result_per_run_key(finished: pd.DataFrame) -> pd.DataFrame:
    """The latest finished run of each run_key: a run_key is one result, never two seeds."""
    ordered = finished.sort_values("end_time", kind="stable")
    return ordered.drop_duplicates("run_key", keep="last").sort_index()


def seed_counts(finished: pd.DataFrame) -> pd.Series:
    return finished.groupby("config")["seed"].nunique()


def min_seeds(group: pd.DataFrame) -> int:
    """The fewest seeds of any configuration in `group`: what its statistics rest on."""
    return int(seed_counts(group).min()) if len(group) else 0


def varied_factors(finished: pd.DataFrame) -> list[str]:
    """cell, direction, depth, then any other param that takes several values (not seed)."""
    skip = {"param.seed", "param.cell", "param.bidirectional", "param.layers"}
    extra = [
        column
        for column in finished.columns
        if column.startswith("param.")
        and column not in skip
        and finished[column].astype(str).nunique() > 1
    ]
    return [*CORE_FACTORS, *sorted(extra)]


def row_label(row: pd.Series, factors: Sequence[str]) -> str:
    """The configuration's name, as its runs' MLflow run names have it (less the seed)."""
    extras = {f.removeprefix("param."): row[f] for f in factors if f not in CORE_FACTORS}
    return config_label(str(row["cell"]), row["direction"] == "bidirectional", row["depth"], extras)


def with_config(finished: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    finished = finished.copy()
    finished["config"] = [row_label(row, factors) for _, row in finished.iterrows()]
    return finished


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
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=std / np.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci_low": float(low), "ci_high": float(high)}


def best_run(group: pd.DataFrame, selection: Selection = BY_VAL_ACCURACY) -> pd.Series:
    """The run of `group` with the best validation score (the first listed, on a tie)."""
    return group.loc[selection.best_index(group[selection.column])]


def leaderboard(
    finished: pd.DataFrame, factors: Sequence[str], selection: Selection = BY_VAL_ACCURACY
) -> pd.DataFrame:
    """One row per (study, configuration), ranked by mean validation score, best first.

    `rank` is shared by ties (1, 1, 3, ...); `tied` says whether the row shares its rank.
    """
    rows = []
    for (study, config), group in finished.groupby(["study", "config"], sort=False):
        summary = mean_ci(group["test_accuracy"])
        rows.append(
            {
                "study": study,
                "config": config,
                **{f: group[f].iloc[0] for f in factors},
                "seeds": summary["n"],
                "validation_score": group[selection.column].mean(),
                "test_accuracy": summary["mean"],
                "test_accuracy_std": summary["std"],
                "ci_low": summary["ci_low"],
                "ci_high": summary["ci_high"],
                "near_chance": near_chance(summary["mean"]),
                "best_val_accuracy": group["best_val_accuracy"].mean(),
                "best_epoch": group["best_epoch"].mean(),
                "param_count": int(group["param_count"].iloc[0]),
                "seconds_per_epoch": group["seconds_per_epoch"].mean(),
                "train_seconds": group["train_seconds"].mean(),
                "gap": group["gap"].mean(),
                "run_id": best_run(group, selection)["run_id"],
            }
        )
    table = pd.DataFrame(rows)
    # Means of the same accuracies summed in another order can differ in the last bit.
    score = table["validation_score"].round(12)
    descending = selection.higher_is_better
    ranks = score.groupby(table["study"]).rank(method="min", ascending=not descending)
    table["rank"] = ranks.astype(int)
    table["tied"] = table.groupby(["study", "rank"])["rank"].transform("size") > 1
    table = table.assign(_score=score).sort_values(
        ["study", "_score"], ascending=[True, not descending], kind="stable"
    )
    order = {study: i for i, study in enumerate(dict.fromkeys(finished["study"]))}
    table = table.sort_values("study", key=lambda s: s.map(order), kind="stable")
    return table.drop(columns="_score").reset_index(drop=True)


@dataclass(frozen=True)
class Ranking:
    """One study's finished runs ranked by one Selection: what the sections show, and which
    run the best-run section is about (so collect reads that run's artifacts, and no other)."""

    finished: pd.DataFrame  # one result per run_key, with its configuration's label
    factors: list[str]  # the factors that vary: cell, direction, depth, then varied params
    board: pd.DataFrame  # the leaderboard, best first
    best: pd.Series  # the best configuration's run with the best validation score


def rank(runs: pd.DataFrame, selection: Selection) -> Ranking | None:
    """Rank one study's runs (any status): None when none finished. Collect and build both
    call this, so the run whose confusion matrix is read is the run the report shows."""
    finished = one_result_per_run_key(runs[runs["status"] == "FINISHED"])
    if finished.empty:
        return None
    factors = varied_factors(finished)
    finished = with_config(finished, factors)
    board = leaderboard(finished, factors, selection)
    best = best_run(finished[finished["config"] == board.iloc[0]["config"]], selection)
    return Ranking(finished, factors, board, best)


def tied_with_best(board: pd.DataFrame) -> list[str]:
    """The configurations that share the top rank with the first one (not the first itself)."""
    return board.loc[board["rank"] == 1, "config"].iloc[1:].tolist()


def pivot(
    finished: pd.DataFrame,
    direction: str,
    *,
    cells: Sequence[str] = (),
    depths: Sequence[int] = (),
) -> pd.DataFrame:
    """Mean test accuracy, cells as rows and depths as columns, for one direction.

    `cells` and `depths` are the grid's levels when known: a grid point with no finished run
    stays in the table as a missing value instead of vanishing.
    """
    subset = finished[finished["direction"] == direction]
    table = subset.pivot_table(
        index="cell", columns="depth", values="test_accuracy", aggfunc="mean"
    )
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
            summary = mean_ci(group["test_accuracy"])
            rows.append(
                {
                    "factor": factor.removeprefix("param."),
                    "level": str(level),
                    **(summary if min_seeds(group) >= 2 else without_interval(summary)),
                }
            )
    return pd.DataFrame(rows, columns=["factor", "level", "n", "mean", "std", "ci_low", "ci_high"])


def compare(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    """Welch's comparison of two groups of runs' test accuracy; the difference alone (no
    interval, no p) unless every configuration on both sides has two seeds or more."""
    result = welch(a["test_accuracy"], b["test_accuracy"])
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


def against_best(finished: pd.DataFrame, board: pd.DataFrame) -> pd.DataFrame:
    """Each configuration with two seeds or more against the best one (ranked by validation):
    Welch's t-test on test accuracy, Holm-corrected. Configurations with fewer seeds are left
    out (see `untestable`); with fewer than two seeds for the best, nothing is tested."""
    rows = []
    for study, configs in board.groupby("study", sort=False):
        best = configs.iloc[0]["config"]
        if configs.iloc[0]["seeds"] < 2:
            continue
        runs = finished[finished["study"] == study]
        best_runs = runs.loc[runs["config"] == best, "test_accuracy"]
        tests = []
        for config in configs.loc[configs["seeds"] >= 2, "config"].iloc[1:]:
            result = welch(runs.loc[runs["config"] == config, "test_accuracy"], best_runs)
            tests.append({"study": study, "config": config, "best": best, **result})
        adjusted = holm([t["p"] for t in tests])
        for test, p_holm in zip(tests, adjusted, strict=True):
            rows.append({**test, "p_holm": p_holm, "verdict": verdict(test["difference"], p_holm)})
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


def verdict(difference: float, p_holm: float) -> str:
    if p_holm < ALPHA:
        return f"{'worse' if difference < 0 else 'better'}, p = {p_holm:.3g}"
    return f"not distinguishable, p = {p_holm:.3g}"


def pareto_front(points: pd.DataFrame, *, cost: str, gain: str) -> pd.DataFrame:
    """Rows no other row beats on both: lower cost and higher gain. Sorted by cost."""
    ordered = points.sort_values([cost, gain], ascending=[True, False])
    front, best = [], -np.inf
    for index, row in ordered.iterrows():
        if row[gain] > best:
            front.append(index)
            best = row[gain]
    return ordered.loc[front]
