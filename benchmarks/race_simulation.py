"""The race's decision rule, simulated: how often the true best is eliminated, what a race
spends against the full grid, and when the clearly worse configurations go, per scenario, for
the race's padded Welch test and for Welch's test unpadded (the rule before; no training;
about a minute).

    python benchmarks/race_simulation.py [--races 10000] [--confidence 0.95]

Scenarios (suite/race/simulation.py): 18 configurations with seeds 2 to 10 and seed
noise 0.1 to 0.8 points (a spread over 25 points, near-ties, all equal, one half a point
ahead), and the race smoke study's shape (6 configurations, seeds 2 to 4, one 16 points
behind, seed noise 1 to 2 points); each with its noise shuffled, or laid out against the test
(the best the noisiest and every rival the quietest, or the other way round). Unequal cost
per run (1 to 6). Printed per scenario and rule: the rate at which the true best was
eliminated (with its Monte-Carlo standard error; allowed: 1 - confidence), the share of the
full grid's runs and training seconds the race spent, and the share of races that had
eliminated the clearly worse configurations (10 points or more behind the best) by 2 seeds
and by 3 seeds (their mean over those configurations).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from suite.race.simulation import LAYOUTS, SCENARIOS, scenario, simulate

RULES = {"padded": None, "Welch": 0.0}  # the padding share: the race's own, or none


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=10_000, help="races per scenario")
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args()
    alpha = 1 - args.confidence
    print(f"{args.races:,} races per scenario and rule; allowed: best eliminated <= {alpha:g}")
    print(
        f"{'scenario':<11} {'noise layout':<14} {'rule':<7} {'best eliminated':>17}"
        f" {'runs':>6} {'seconds':>8} {'worse gone by 2 / 3 seeds':>26}"
    )
    for kind in SCENARIOS:
        for layout in LAYOUTS:
            case = scenario(kind, layout, confidence=args.confidence)
            worse = case.means <= case.means[0] - 0.10  # 10 points or more behind the best
            seed = [2026, SCENARIOS.index(kind), LAYOUTS.index(layout)]  # the test's draws
            for rule, share in RULES.items():
                found = simulate(
                    case.means,
                    case.noise,
                    case.seconds,
                    case.rules,
                    races=args.races,
                    rng=np.random.default_rng(seed),  # the same draws for both rules
                    share=share,
                )
                rate = found.best_eliminated
                error = math.sqrt(max(rate * (1 - rate), 1e-12) / args.races)
                gone = (
                    "{:>12.1%} / {:.1%}".format(*found.eliminated_by_round[worse, :2].mean(axis=0))
                    if worse.any()
                    else f"{'-':>21}"
                )
                print(
                    f"{kind:<11} {layout:<14} {rule:<7} {rate:>8.4f} +- {error:.4f}"
                    f" {found.run_share:>6.1%} {found.second_share:>8.1%} {gone:>26}"
                )


if __name__ == "__main__":
    main()
