"""The answer across datasets: which configuration ranks best when a study trains every
configuration on several datasets, and which of them the datasets cannot tell apart.

A configuration across datasets is the configuration with what describes the data left out
(`DATA_FACTORS`, where it takes one value on each dataset). On each dataset the configurations
are ranked by the study's objective, the value the leaderboard ranks by (the mean over seeds
of each run's best validation value), rank 1 the best, ties sharing the average of their
ranks; a configuration's answer is its average rank over the datasets (Demšar 2006, JMLR 7).
Only configurations with a result on every dataset are ranked.

Tests treat the datasets as the sample: Friedman's test over the ranks, in Iman and
Davenport's F form (Demšar shows the chi-square form too conservative on few datasets), and,
where it finds a difference, a Wilcoxon signed-rank test for each pair of configurations over
the datasets, Holm-corrected (Benavoli et al. 2016, JMLR 17: pairwise tests whose verdict
does not depend on the other configurations compared). Nothing is tested with fewer than
`MIN_DATASETS` datasets, or where a mean behind a rank rests on one seed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scikit_posthocs
from scipy import stats

from suite.report.measures import TARGET_STD_PARAM
from suite.report.ranking import (
    Selection,
    chance_of,
    configuration_factors,
    over_seeds,
    with_config,
)
from suite.report.stats import ALPHA, CELL_ORDER, DIRECTION_ORDER, holm
from suite.schema import Measure
from suite.study.data_config import DataConfig, mnist_name

DATASET = "dataset"  # the runs table's column this module adds: each run's dataset
DATASET_PARAM = "param.dataset"
# What describes the data a run read rather than the configuration trained on it: every field
# of the study's data section (archive, file, view, digest, task, its sizes and split, the
# dataset axis's name...) and what the run logs of its data (dataset, classes, target_std).
DATA_FACTORS = frozenset(
    {
        *(f"param.{name}" for name in DataConfig.model_fields),
        DATASET_PARAM,
        "param.classes",
        TARGET_STD_PARAM,
    }
)
# Below 6 datasets no test is made. A two-sided Wilcoxon signed-rank test over n datasets
# cannot go below 2 / 2^n (0.0625 with 5), so no pair could ever be told apart; and a
# Friedman rejection that no pairwise test can follow names no difference.
MIN_DATASETS = 6
# Why the datasets were not tested (`AcrossDatasets.untested`)
FEW_CONFIGURATIONS, FEW_DATASETS, ONE_SEED = "configurations", "datasets", "seed"


def dataset_of(runs: pd.DataFrame) -> pd.Series:
    """Each run's dataset: its `dataset` param; MNIST runs recorded before every run logged one
    have none, and are MNIST in their view (as DataConfig.dataset_name names it)."""
    view = runs.get("param.view", pd.Series("rows", index=runs.index, dtype=object))
    view = view.fillna("rows").astype(str)
    mnist = view.map(mnist_name)
    named = runs.get(DATASET_PARAM, pd.Series(None, index=runs.index, dtype=object))
    return named.where(named.notna(), mnist).astype(str)


def datasets_of(runs: pd.DataFrame) -> list[str]:
    """The datasets of `runs`, in alphabetical order."""
    return sorted(set(dataset_of(runs))) if len(runs) else []


@dataclass(frozen=True)
class Friedman:
    """Friedman's statistic over the ranks (tie-corrected) and its Iman-Davenport F form."""

    chi2: float
    f: float
    df1: int
    df2: int
    p: float  # of F


@dataclass(frozen=True)
class AcrossDatasets:
    datasets: list[str]
    factors: list[str]  # the configuration's factors across datasets
    # One row per (configuration, dataset): seeds, validation_score (mean over seeds of the
    # objective), the test value's mean, std and interval, near_chance (ranking's flag), best
    # (chosen by validation on that dataset among every configuration on it), rank (among
    # the ranked configurations)
    cells: pd.DataFrame
    average_rank: pd.Series  # ranked configuration -> average rank, best first
    left_out: dict[str, list[str]]  # configuration -> the datasets it has no result on
    fewest_seeds: int  # behind any mean that is ranked
    untested: str | None  # why nothing is tested (FEW_*, ONE_SEED), else None
    friedman: Friedman | None  # None: untested, or two configurations (nothing to add)
    # Pairwise signed-rank tests (empty when untested or Friedman finds no difference):
    # config, against, datasets, better, worse, statistic, p, p_holm, verdict
    pairs: pd.DataFrame
    p_holm: pd.DataFrame | None  # the pairs' Holm p-values as a matrix (1: not tested apart)
    cliques: pd.Series  # configuration -> its cliques' letters (a: the best's), when tested
    levels: pd.DataFrame  # each factor's levels against each other (`factor_levels`)


def across_datasets(
    finished: pd.DataFrame, selection: Selection, measure: Measure
) -> AcrossDatasets:
    """The study's finished runs (one result per run_key) compared across their datasets."""
    finished = finished.assign(**{DATASET: dataset_of(finished)})
    factors = [f for f in configuration_factors(finished) if not _follows(finished, f)]
    finished = with_config(finished, factors)
    datasets = datasets_of(finished)
    cells = _cells(finished, selection, measure)
    present = cells.groupby("config", sort=False)[DATASET].agg(set)
    left_out = {
        config: [d for d in datasets if d not in on]
        for config, on in present.items()
        if len(on) < len(datasets)
    }
    ranked = [c for c in present.index if c not in left_out]
    scores = cells.pivot(index=DATASET, columns="config", values="validation_score")
    scores = scores.reindex(index=datasets, columns=ranked).round(12)
    ranks = scores.rank(axis=1, method="average", ascending=not selection.higher_is_better)
    mean_rank = ranks.mean()
    average = mean_rank[sorted(ranked, key=lambda c: (mean_rank[c], c))]  # ties: by name
    cells["rank"] = [
        ranks.at[d, c] if c in ranks.columns else math.nan
        for c, d in zip(cells["config"], cells[DATASET], strict=True)
    ]
    seeds = cells.loc[cells["config"].isin(ranked), "seeds"]
    fewest = int(seeds.min()) if len(seeds) else 0
    untested = _untested(len(ranked), len(datasets), fewest)
    # Differences are compared across datasets (signed-rank tests rank their sizes): an
    # accuracy is in the same units on every dataset, an RMSE is in its target's, so it is
    # divided by the dataset's target std (the RMSE of predicting the mean) first.
    scales = {d: _scale(group, measure) for d, group in finished.groupby(DATASET)}
    sign = 1.0 if selection.higher_is_better else -1.0
    gains = scores[list(average.index)].mul(sign).div(pd.Series(scales), axis=0)
    friedman, pairs, p_matrix, cliques = (
        _tests(scores, gains, list(average.index)) if untested is None else _not_tested()
    )
    return AcrossDatasets(
        datasets=datasets,
        factors=factors,
        cells=cells,
        average_rank=average,
        left_out=left_out,
        fewest_seeds=fewest,
        untested=untested,
        friedman=friedman,
        pairs=pairs if pairs is not None else _no_pairs(),
        p_holm=p_matrix,
        cliques=cliques,
        levels=factor_levels(
            finished[finished["config"].isin(ranked)], factors, gains, tested=untested is None
        ),
    )


def _tests(
    scores: pd.DataFrame, gains: pd.DataFrame, order: list[str]
) -> tuple[Friedman | None, pd.DataFrame | None, pd.DataFrame, pd.Series]:
    """Friedman's test over the datasets (three configurations or more), then, where it finds
    a difference (or cannot be run), the pairwise tests, their Holm p-values and the cliques."""
    friedman = friedman_test(scores[order]) if len(order) >= 3 else None
    pairs = None
    if friedman is None or friedman.p < ALPHA:
        pairs = pairwise(gains[order])
        p_matrix = _matrix(pairs, order)
    else:  # no difference found: no pairwise test, one clique
        p_matrix = pd.DataFrame(1.0, index=order, columns=order)
    cliques = scikit_posthocs.compact_letter_display(p_matrix, alpha=ALPHA).str.strip()
    return friedman, pairs, p_matrix, cliques


def _not_tested() -> tuple[None, None, None, pd.Series]:
    return None, None, None, pd.Series(dtype=str)


def _follows(finished: pd.DataFrame, factor: str) -> bool:
    """Whether `factor` describes the data and takes one value on each dataset (or none: a
    field that only MNIST's runs log): left out of the configuration across datasets. A data
    field that varies within a dataset (a grid of train sizes on MNIST) stays a factor."""
    if factor not in DATA_FACTORS:
        return False
    return bool(finished[factor].astype(str).groupby(finished[DATASET]).nunique().max() <= 1)


def _cells(finished: pd.DataFrame, selection: Selection, measure: Measure) -> pd.DataFrame:
    rows = []
    for (config, dataset), group in finished.groupby(["config", DATASET], sort=False):
        rows.append(
            {
                "config": config,
                DATASET: dataset,
                "cell": group["cell"].iloc[0],
                **over_seeds(group, selection, measure),
            }
        )
    cells = pd.DataFrame(rows)
    score = cells["validation_score"].round(12)
    by_dataset = score.groupby(cells[DATASET])
    best = by_dataset.transform("max" if selection.higher_is_better else "min")
    return cells.assign(best=score == best)


def datasets_for_holm(pairs: int) -> int:
    """The fewest datasets over which a two-sided signed-rank test can go below Holm's first
    level, ALPHA / pairs: its smallest p over n datasets is 2 / 2^n (every difference of one
    sign), so fewer datasets can tell no pair apart, whatever the results."""
    return max(MIN_DATASETS, math.ceil(math.log2(2 * pairs / ALPHA) + 1e-12))


def _untested(configurations: int, datasets: int, fewest_seeds: int) -> str | None:
    if configurations < 2:
        return FEW_CONFIGURATIONS
    if datasets < MIN_DATASETS:
        return FEW_DATASETS
    if fewest_seeds < 2:
        return ONE_SEED
    return None


def _scale(runs: pd.DataFrame, measure: Measure) -> float:
    """1 for an accuracy; for an RMSE its dataset's target std, where the runs logged one."""
    if measure.task != "regression":
        return 1.0
    std = chance_of(runs, measure)
    return std if math.isfinite(std) and std > 0 else 1.0


def friedman_test(scores: pd.DataFrame) -> Friedman:
    """Friedman's test of `scores` (datasets x configurations, three or more), read as Iman
    and Davenport's F = (N - 1) chi2 / (N (k - 1) - chi2) on (k - 1, (k - 1)(N - 1)) degrees
    of freedom (Demšar 2006, section 3.2.2), which scipy does not offer."""
    n, k = scores.shape
    if (scores.nunique(axis=1) == 1).all():  # all tied everywhere: scipy's correction is 0/0
        chi2 = 0.0
    else:
        chi2 = float(stats.friedmanchisquare(*(scores[c] for c in scores.columns)).statistic)
    room = n * (k - 1) - chi2  # 0: every dataset ranks them the same way
    f = (n - 1) * chi2 / room if room > 1e-12 else math.inf
    df1, df2 = k - 1, (k - 1) * (n - 1)
    return Friedman(chi2, f, df1, df2, float(stats.f.sf(f, df1, df2)))


def pairwise(gains: pd.DataFrame) -> pd.DataFrame:
    """A two-sided Wilcoxon signed-rank test for each pair of `gains`' columns (datasets x
    configurations, higher better, in the order they are listed), Holm-corrected over the
    pairs; which side is better is the side with the larger sum of ranks."""
    rows = []
    for config, against in itertools.combinations(gains.columns, 2):
        result = signed_rank(gains[config] - gains[against])
        rows.append({"config": config, "against": against, **result})
    table = pd.DataFrame(rows, columns=["config", "against", *_TEST_COLUMNS])
    return _verdicts(table)


_TEST_COLUMNS = ("datasets", "better", "equal", "worse", "statistic", "p", "side")


def signed_rank(differences: pd.Series) -> dict[str, float]:
    """scipy's two-sided Wilcoxon signed-rank test of `differences` (one per dataset; zeros
    dropped, as Wilcoxon did), with how many are above, at and below zero and which side the
    ranks favour (+1, -1, 0): scipy reports the smaller rank sum but not whose it is."""
    d = differences.astype(float).round(12)
    nonzero = d[d != 0]
    counts = {
        "datasets": len(d),
        "better": int((d > 0).sum()),
        "equal": int((d == 0).sum()),
        "worse": int((d < 0).sum()),
    }
    if nonzero.empty:
        return {**counts, "statistic": 0.0, "p": 1.0, "side": 0}
    result = stats.wilcoxon(nonzero)
    ranks = stats.rankdata(nonzero.abs())
    above, below = ranks[nonzero.to_numpy() > 0].sum(), ranks[nonzero.to_numpy() < 0].sum()
    side = int(np.sign(above - below))
    return {**counts, "statistic": float(result.statistic), "p": float(result.pvalue), "side": side}


def _verdicts(table: pd.DataFrame) -> pd.DataFrame:
    table = table.assign(p_holm=holm(table["p"].tolist()) if len(table) else [])
    table["verdict"] = [
        ("better" if side > 0 else "worse") if p < ALPHA and side else "cannot tell"
        for p, side in zip(table["p_holm"], table["side"], strict=True)
    ]
    return table


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame(columns=["config", "against", *_TEST_COLUMNS, "p_holm", "verdict"])


def _matrix(pairs: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """The pairs' Holm p-values as a symmetric matrix, 1 on the diagonal."""
    matrix = pd.DataFrame(1.0, index=order, columns=order)
    for row in pairs.itertuples():
        matrix.at[row.config, row.against] = matrix.at[row.against, row.config] = row.p_holm
    return matrix


def factor_levels(
    finished: pd.DataFrame, factors: list[str], gains: pd.DataFrame, *, tested: bool
) -> pd.DataFrame:
    """Each factor's levels against each other, over twins: two configurations that differ in
    that factor alone. On each dataset a level's difference is the mean over its twin pairs
    of the gain (higher better; an RMSE in target stds); `better`, `equal` and `worse` count
    the datasets by its sign. Where the datasets are `tested`, a signed-rank test over the
    datasets of that difference, Holm-corrected over the factor's pairs of levels."""
    configs = finished.drop_duplicates("config").set_index("config")[factors].astype(str)
    frames = []
    for factor in factors:
        levels = _ordered(finished[factor].dropna().unique(), factor)
        if len(levels) < 2:
            continue
        others = [f for f in factors if f != factor]
        rows = []
        for low, high in itertools.combinations(levels, 2):
            twins = _twins(configs, factor, others, high=str(high), low=str(low))
            if not twins:
                continue
            difference = sum(gains[a] - gains[b] for a, b in twins) / len(twins)
            result = signed_rank(difference)
            rows.append(
                {
                    "factor": factor.removeprefix("param."),
                    "level": str(high),
                    "against": str(low),
                    "twins": len(twins),
                    **result,
                }
            )
        table = pd.DataFrame(rows, columns=["factor", "level", "against", "twins", *_TEST_COLUMNS])
        frames.append(_verdicts(table) if tested else table)
    columns = ["factor", "level", "against", "twins", *_TEST_COLUMNS]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _ordered(values: np.ndarray, factor: str) -> list:
    order = {"cell": CELL_ORDER, "direction": DIRECTION_ORDER}.get(factor)
    if order is not None:
        return [v for v in order if v in set(values)] + sorted(set(values) - set(order))
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    if numbers.notna().all():
        return [v for _, v in sorted(zip(numbers, values, strict=True))]
    return sorted(values, key=str)


def _twins(
    configs: pd.DataFrame, factor: str, others: list[str], *, high: str, low: str
) -> list[tuple[str, str]]:
    """(configuration at `high`, its twin at `low`): equal in every other factor."""
    twins = []
    for _, group in configs.groupby(others, sort=False) if others else [(None, configs)]:
        at_high = group.index[group[factor] == high]
        at_low = group.index[group[factor] == low]
        if len(at_high) == 1 and len(at_low) == 1:
            twins.append((at_high[0], at_low[0]))
    return twins
