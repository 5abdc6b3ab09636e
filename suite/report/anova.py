"""How much of the spread in the test value (test accuracy, or test RMSE for regression) each
factor of a grid explains: an ANOVA.

The question Greff et al. ("LSTM: A Search Space Odyssey") answered with fANOVA, asked of a
full grid with ordinary least squares: test value ~ every varying factor (categorical) and
every two-way interaction, the seeds left in the residual. Each term's share is its sum of
squares over the total sum of squares (eta squared).

Sums of squares are Type II. In a balanced full factorial (every configuration has the same
number of seeds) Types I, II and III agree. Runs lost to failures make the design unbalanced,
and then Type I would depend on the order the terms are written in, and Type III would test
main effects in the presence of interactions that contain them (breaking marginality, and
depending on the contrast coding); Type II tests each term after every other term that does
not contain it, so it neither depends on term order nor on coding. Its price: in an
unbalanced design the terms' sums of squares need not add up to the total.

With one run per configuration of two factors, the model with their interaction would fit
every run exactly and leave no residual: the interaction is left in the residual then.

F tests and p-values need seed noise to test against: they are given only when every
configuration has two seeds or more (with one seed, the residual is the interactions the model
leaves out, which cannot be told apart from seed noise).
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from suite.report.measures import CLASSIFICATION, TEST_VALUE
from suite.report.stats import min_seeds
from suite.schema import Measure

SS_TYPE = 2
RESIDUAL = "residual"
TOTAL = "total"
COLUMNS = ["term", "df", "sum_sq", "share", "F", "p"]


@dataclass(frozen=True)
class Decomposition:
    """One study's ANOVA of the test value; `table` has a row per term, then residual, total."""

    table: pd.DataFrame  # COLUMNS; F and p are NaN unless `tested`
    factors: list[str]  # the factors' names as the table says them (cell, direction, ...)
    formula: str  # the model, as statsmodels was given it
    tested: bool  # every configuration has two seeds or more: F and p are given
    seeds: int  # the fewest seeds of any configuration
    seed_sum_sq: float  # within configurations: seed noise alone (0 with one seed each)
    seed_df: int
    left_out: list[str]  # interactions not in the model: a pair of levels has no run
    in_residual: list[str]  # interactions not in the model: one run per configuration
    balanced: bool  # every combination of levels has a run, each the same number

    @property
    def residual(self) -> pd.Series:
        return self.table.set_index("term").loc[RESIDUAL]

    @property
    def interactions_left(self) -> tuple[float, int]:
        """The residual less seed noise: the interactions the model leaves out (SS, df)."""
        sum_sq, df = float(self.residual["sum_sq"]), int(self.residual["df"])
        return sum_sq - self.seed_sum_sq, df - self.seed_df

    def terms(self) -> pd.DataFrame:
        """The model's terms and the residual: the rows whose shares are compared."""
        return self.table[self.table["term"] != TOTAL]


def factors_that_vary(finished: pd.DataFrame, factors: Sequence[str]) -> list[str]:
    """The columns of `factors` that take two values or more among the finished runs."""
    return [f for f in factors if finished[f].astype(str).nunique() > 1]


def why_not(
    finished: pd.DataFrame, factors: Sequence[str], measure: Measure = CLASSIFICATION
) -> str | None:
    """Why a study's runs admit no decomposition, in words; None when they do."""
    data, names = _frame(finished, factors)
    if not names:
        return (
            "one configuration only, so no factor varies whose share of the variance could be"
            " measured. A grid that varies the cell, the direction or the depth gets one."
        )
    if float(data[TEST_VALUE].var(ddof=0)) == 0.0:
        return f"every run has the same test {measure.words}, so there is no variance to decompose."
    if len(names) > 1 and _anova_table(data, names, []) is None:
        return (
            "the runs cannot tell the factors' effects apart: the factors are not crossed (their"
            " levels do not each meet the others', as in a search's trials), or nothing is left"
            " over after them to measure noise by."
        )
    return None


def decompose(finished: pd.DataFrame, factors: Sequence[str]) -> Decomposition:
    """The ANOVA of `finished` (one result per run_key) on the `factors` that vary.

    Call `why_not` first: this expects factors that vary, are crossed, and some variance.
    """
    data, names = _frame(finished, factors)
    pairs = list(itertools.combinations(names, 2))
    uncrossed = [(a, b) for a, b in pairs if not _crossed(data, a, b)]
    pairs = [pair for pair in pairs if pair not in uncrossed]
    fitted, in_residual = _anova_table(data, names, pairs), []
    if fitted is None and pairs:
        # E.g. one run per configuration of two factors: with their interaction the model
        # fits every run and leaves no residual. The interactions go to the residual instead.
        fitted, in_residual, pairs = _anova_table(data, names, []), pairs, []
    formula, anova = fitted or (_formula(names, []), _saturated(data, names[0]))
    terms = {f"C({n})": n for n in names} | {f"C({a}):C({b})": f"{a} x {b}" for a, b in pairs}
    terms["Residual"] = RESIDUAL
    seeds = min_seeds(finished.dropna(subset=[TEST_VALUE]))
    tested = seeds >= 2 and int(anova.loc["Residual", "df"]) > 0
    total = float(((data[TEST_VALUE] - data[TEST_VALUE].mean()) ** 2).sum())
    table = pd.DataFrame(
        {
            "term": [terms[str(index)] for index in anova.index],
            "df": anova["df"].round().astype(int).to_numpy(),
            "sum_sq": anova["sum_sq"].to_numpy(),
            "share": anova["sum_sq"].to_numpy() / total,
            # No F or p without two seeds for every configuration, and none for the residual.
            "F": anova["F"].to_numpy() if tested else np.nan,
            "p": anova["PR(>F)"].to_numpy() if tested else np.nan,
        }
    )
    table.loc[table["term"] == RESIDUAL, ["F", "p"]] = np.nan
    table.loc[len(table)] = [TOTAL, len(data) - 1, total, 1.0, np.nan, np.nan]
    within = data.groupby(names)[TEST_VALUE]
    sizes = within.size()
    return Decomposition(
        table=table,
        factors=names,
        formula=formula,
        tested=tested,
        seeds=seeds,
        seed_sum_sq=float(((data[TEST_VALUE] - within.transform("mean")) ** 2).sum()),
        seed_df=len(data) - within.ngroups,
        left_out=[f"{a} x {b}" for a, b in uncrossed],
        in_residual=[f"{a} x {b}" for a, b in in_residual],
        balanced=len(sizes) == np.prod([data[n].nunique() for n in names]) and sizes.nunique() == 1,
    )


def _frame(finished: pd.DataFrame, factors: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The runs with a test value, their varying factors as text (categorical) under names
    a formula accepts, and those names."""
    runs = finished.dropna(subset=[TEST_VALUE])
    columns = factors_that_vary(runs, factors)
    names = [_name(c) for c in columns]
    data = pd.DataFrame(
        {n: runs[c].astype(str).to_numpy() for n, c in zip(names, columns, strict=True)}
    )
    data[TEST_VALUE] = runs[TEST_VALUE].astype(float).to_numpy()
    return data, names


def _formula(names: Sequence[str], pairs: Sequence[tuple[str, str]]) -> str:
    terms = [f"C({n})" for n in names] + [f"C({a}):C({b})" for a, b in pairs]
    return f"{TEST_VALUE} ~ " + " + ".join(terms)


def _anova_table(
    data: pd.DataFrame, names: Sequence[str], pairs: Sequence[tuple[str, str]]
) -> tuple[str, pd.DataFrame] | None:
    """The model's formula and its Type II ANOVA table; None when the runs cannot estimate
    every term apart from the others, or leave no residual."""
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm

    formula = _formula(names, pairs)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # A rank-deficient design is answered below. Seeds that agree exactly leave a
        # residual of 0: F is then infinite, which is right.
        warnings.simplefilter("ignore")
        model = ols(formula, data=data).fit()
        if model.model.rank < model.model.exog.shape[1] or round(model.df_resid) < 1:
            return None
        try:
            return formula, anova_lm(model, typ=SS_TYPE)
        except (ValueError, np.linalg.LinAlgError):  # e.g. a residual too small to scale by
            return None


def _saturated(data: pd.DataFrame, name: str) -> pd.DataFrame:
    """anova_lm's table for one factor with one run per level: the factor holds every bit of
    the variance and the residual is empty (statsmodels cannot scale a model with no residual)."""
    total = float(((data[TEST_VALUE] - data[TEST_VALUE].mean()) ** 2).sum())
    nan = float("nan")
    return pd.DataFrame(
        {
            "sum_sq": [total, 0.0],
            "df": [data[name].nunique() - 1, 0],
            "F": [nan, nan],
            "PR(>F)": [nan, nan],
        },
        index=[f"C({name})", "Residual"],
    )


def _name(column: str) -> str:
    """A factor's name as the table says it and as a formula accepts it: param.units -> units."""
    return re.sub(r"\W", "_", column.removeprefix("param."))


def _crossed(data: pd.DataFrame, a: str, b: str) -> bool:
    """Every pair of levels of `a` and `b` has a run: their interaction can be estimated."""
    return data.groupby([a, b]).ngroups == data[a].nunique() * data[b].nunique()
