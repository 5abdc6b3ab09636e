"""The race's decision rule, simulated: how often the true best is eliminated, and what a race
spends against the full grid, per effect-size scenario (no training; about a minute).

    python benchmarks/race_simulation.py [--races 10000] [--confidence 0.95]

18 configurations, seeds 2 to 10, unequal seed noise (0.1 to 0.8 accuracy points) and unequal
cost per run (1 to 6). Printed per scenario: the rate at which the true best was eliminated
(with its Monte-Carlo standard error), the share of races whose answer contains it, and the
share of the full grid's runs and training seconds the race spent.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from suite.forecast.race import RaceRules
from suite.forecast.race_simulation import (
    SCENARIOS,
    scenario_means,
    scenario_noise,
    scenario_seconds,
    simulate,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=10_000, help="races per scenario")
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args()
    rules = RaceRules(min_seeds=2, max_seeds=10, confidence=args.confidence)
    alpha = 1 - args.confidence
    print(f"{args.races:,} races per scenario, 18 configurations, seeds 2..10, level {alpha:g}")
    print(f"{'scenario':<10} {'best eliminated':>20} {'best kept':>10} {'runs':>6} {'seconds':>8}")
    for kind in SCENARIOS:
        rng = np.random.default_rng(2026)
        found = simulate(
            scenario_means(kind),
            scenario_noise(rng),
            scenario_seconds(),
            rules,
            races=args.races,
            rng=rng,
        )
        error = math.sqrt(
            max(found.best_eliminated * (1 - found.best_eliminated), 1e-12) / args.races
        )
        print(
            f"{kind:<10} {found.best_eliminated:>11.4f} +- {error:.4f} {found.best_kept:>10.4f}"
            f" {found.run_share:>6.1%} {found.second_share:>8.1%}"
        )


if __name__ == "__main__":
    main()
