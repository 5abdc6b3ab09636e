"""The race's test: every configuration of a round against the round's leader.

The test: a padded Welch test. Each configuration of a round is compared with the round's
leader by a one-sided t-test of the gap in means whose variance is the pair's own (Welch's)
plus a share of every other survivor's, with Satterthwaite's degrees of freedom, at level
alpha / ((K - 1) R) for K configurations and at most R rounds (Bonferroni).

Why padding. At two seeds a pair's own variances have one or two degrees of freedom, and
Welch's test at a level like 0.05 / 153 needs a t of 39 (two, the pair's noise equal) to 974
(one, one side's noise dominant): a configuration 16 points behind lasted to the last seed.
Power needs the other configurations' seeds. Borrowing them as a common variance (a pooled
t-test, or limma's moderated t, Smyth 2004, which shrinks each variance toward a pooled prior)
assumes the seed noise is alike across configurations, and real grids' is not (simple_rnn's
seeds are noisier than the gated cells'): where the true best is the noisiest, a pool of
quieter ones understates its noise. In the race's simulation (`race_simulation`, 18 equal
configurations, the best at 0.8 points of seed noise and every rival at 0.1) the best fell in
38% of 10,000 races with a pooled t-test (tests/race/test_race.py keeps it as a broken rule the
simulation must catch) and, in an exploration not kept, 21% with a moderated t and 11% with the
larger of the pooled and the pair's own variance; 5% is allowed. Padding borrows the degrees of
freedom without that assumption: the padded variance's expectation is the gap's true variance
plus a share of the others', whatever each configuration's noise, so it may overstate the gap's
noise but not understate it on average, and the others' variances bring their degrees of
freedom (Satterthwaite's approximation, the one Welch's test rests on). The share is chosen
before any result, from the survivors, the seeds and the level alone (`padding_share`): the
hundredth in [0, 1] that detects the smallest gap when every survivor has the same noise; 0.19
for 18 survivors at 2 seeds (95%, 9 rounds), and 0 (Welch's test) once a pair's own seeds
suffice. It can cost more than it buys where gaps are small: the simulation's "one ahead" grid
with shuffled noise spends 93% of the full grid's runs, against 91% with Welch's test
(benchmarks/race_simulation.py).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np


class LeaderComparison(NamedTuple):
    """Every configuration of a round against the round's leader, over any leading axes (one
    race, or the simulation's many races at once); the configurations are the last axis."""

    leader: np.ndarray  # (...): the leader's index, the first highest mean of those racing
    gap: np.ndarray  # (..., K): the leader's mean minus each one's
    scale: np.ndarray  # (..., K): the gap's padded standard error (0: no spread at all)
    df: np.ndarray  # (..., K): its degrees of freedom (Satterthwaite's)

    def p_better(self) -> np.ndarray:
        """One-sided p-values that the leader's mean is above each one's."""
        return _t_sf(self.gap, self.scale, self.df)

    def p_within(self, margin: float) -> np.ndarray:
        """The larger p-value of two one-sided tests (TOST) that each one's mean is within
        `margin` of the leader's, below and above: under the level, they are equivalent."""
        below = _t_sf(margin - self.gap, self.scale, self.df)  # leader - margin below it
        above = _t_sf(self.gap + margin, self.scale, self.df)  # leader + margin above it
        return np.maximum(below, above)


def compare_with_leader(
    values: np.ndarray,
    racing: np.ndarray | None = None,
    *,
    level: float,
    share: float | np.ndarray | None = None,
) -> LeaderComparison:
    """The padded Welch test of each configuration against the leader: `values` (..., K, n)
    are each configuration's scores over the round's n seeds, `racing` (..., K) which of
    them race (all by default; the others take no part), `level` each test's level (it
    chooses the padding), `share` the padding (default `padding_share`; 0 is Welch's test).

    Written out, vectorised over any leading axes, rather than one scipy call per pair: the
    race's simulation (tests, benchmark) decides hundreds of thousands of races."""
    seeds = values.shape[-1]
    if racing is None:
        racing = np.ones(values.shape[:-1], dtype=bool)
    means = values.mean(axis=-1)
    leader = np.where(racing, means, -np.inf).argmax(axis=-1)
    if share is None:
        share = _shares(racing.sum(axis=-1), seeds, level)
    variance, df = _padded(
        np.where(racing, values.var(axis=-1, ddof=1), 0.0) / seeds,
        leader,
        np.asarray(share, dtype=float)[..., None],
        seeds,
    )
    gap = np.take_along_axis(means, leader[..., None], axis=-1) - means
    return LeaderComparison(leader, gap, np.sqrt(variance), df)


def _padded(
    own: np.ndarray, leader: np.ndarray, share: np.ndarray, seeds: int
) -> tuple[np.ndarray, np.ndarray]:
    """The gap's variance, the leader's and each one's variance of its mean (`own`, 0 for a
    configuration not racing) plus `share` of every other's, and its Satterthwaite degrees
    of freedom: the variances are independent, each with seeds - 1 degrees of freedom."""
    lead = np.take_along_axis(own, leader[..., None], axis=-1)
    others = np.maximum(own.sum(axis=-1, keepdims=True) - lead - own, 0.0)
    others_squared = np.maximum((own**2).sum(axis=-1, keepdims=True) - lead**2 - own**2, 0.0)
    variance = lead + own + share * others
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (seeds - 1) * variance**2 / (lead**2 + own**2 + share**2 * others_squared)
    return variance, df


@functools.cache
def padding_share(survivors: int, seeds: int, level: float) -> float:
    """The share of every other survivor's variance a pair's test adds to its own, chosen
    before any result: the hundredth in [0, 1] whose test, at `level`, detects the smallest
    gap where every survivor has the same seed noise. A pair alone is Welch's test."""
    if survivors <= 2:
        return 0.0
    from scipy import stats  # imported here: see _t_sf

    share = np.linspace(0.0, 1.0, 101)
    variance = 2 + share * (survivors - 2)  # the gap's, in units of one's variance of a mean
    df = (seeds - 1) * variance**2 / (2 + share**2 * (survivors - 2))
    detectable = stats.t.isf(level, df) * np.sqrt(variance)
    return float(share[np.argmin(detectable)])


def _shares(survivors: np.ndarray, seeds: int, level: float) -> np.ndarray:
    """`padding_share` of each race's survivor count."""
    counts, where = np.unique(survivors, return_inverse=True)
    shares = np.array([padding_share(int(count), seeds, level) for count in counts])
    return shares[where].reshape(np.shape(survivors))


def _t_sf(difference: np.ndarray, scale: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Student's t survival function of difference / scale; without spread (scale 0) the
    statistic is undefined: no evidence, p = 1."""
    # scipy.stats is slow to import (the largest part of the CLI's start before Keras);
    # imported here, not at the top: every `python -m suite.run` imports this module (its
    # plan), and most never race.
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.t.sf(difference / scale, df)
    return np.where(scale > 0, p, 1.0)
