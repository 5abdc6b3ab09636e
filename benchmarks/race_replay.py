"""The race replayed on real results: the smoke grid trained with six seeds (108 runs).

    python benchmarks/race_replay.py                 # replay tests/data/smoke-six-seeds.csv
    python benchmarks/race_replay.py --export URI    # write that CSV from a store's runs

The CSV was recorded once with
    python -m suite.run studies/smoke.yaml --set 'grid.seed=[0,1,2,3,4,5]' --set name=smoke6
      --set tracking.log_model=false --set tracking.system_metrics=false
and exported from its store (experiment smoke6). Printed: the six-seed grid's best by mean
validation accuracy, the race's answer (seeds 2 to 6, 95% confidence), and the share of the
grid's runs and training seconds the race spent.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from suite.forecast.race import RaceRules, race, race_line
from suite.schema import Metric, Role, Tag, config_label

CSV = Path(__file__).resolve().parents[1] / "tests" / "data" / "smoke-six-seeds.csv"
COLUMNS = ("configuration", "seed", "best_val_accuracy", "test_accuracy", "train_seconds")


def export(uri: str, experiment: str) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs(
        [found.experiment_id],
        f"tags.{Tag.ROLE} = '{Role.RUN}' and attributes.status = 'FINISHED'",
        max_results=1000,
    )
    rows = sorted(
        (
            config_label(
                r.data.tags[Tag.CELL],
                r.data.tags[Tag.DIRECTION] == "bidirectional",
                r.data.tags[Tag.DEPTH],
            ),
            int(r.data.params["seed"]),
            r.data.metrics[Metric.BEST_VAL_ACCURACY],
            r.data.metrics[Metric.TEST_ACCURACY],
            r.data.metrics[Metric.TRAIN_SECONDS],
        )
        for r in runs
    )
    with CSV.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    print(f"{len(rows)} runs -> {CSV}")


def replay(confidence: float) -> None:
    values: dict[str, dict[int, float]] = {}
    seconds: dict[str, dict[int, float]] = {}
    with CSV.open() as handle:
        for row in csv.DictReader(handle):
            name, seed = row["configuration"], int(row["seed"])
            values.setdefault(name, {})[seed] = float(row["best_val_accuracy"])
            seconds.setdefault(name, {})[seed] = float(row["train_seconds"])
    means = {name: np.mean(list(v.values())) for name, v in values.items()}
    grid_best = max(means, key=means.__getitem__)
    print(
        f"six-seed grid: {sum(map(len, values.values()))} runs; best by mean validation"
        f" accuracy {grid_best} ({means[grid_best]:.4f})"
    )
    state = race(values, RaceRules(min_seeds=2, max_seeds=6, confidence=confidence))
    print(race_line(state))
    spent = sum(seconds[n][s] for n, k in state.seeds_of.items() for s in range(k))
    total = sum(sum(v.values()) for v in seconds.values())
    print(f"the grid's best is in the race's answer: {grid_best in state.survivors}")
    print(
        f"runs: {state.runs} of {state.full_grid_runs} ({state.runs / state.full_grid_runs:.0%});"
        f" training seconds: {spent:.0f} of {total:.0f} ({spent / total:.0%})"
    )
    for name, elimination in sorted(state.eliminated.items(), key=lambda x: x[1].round):
        print(
            f"  {name}: eliminated in round {elimination.round} ({elimination.seeds} seeds),"
            f" {elimination.gap * 100:.1f} points behind {elimination.leader},"
            f" p {elimination.p_value:.1e} < {elimination.level:.1e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", metavar="URI", help="write the CSV from this store's runs")
    parser.add_argument("--experiment", default="smoke6")
    parser.add_argument("--confidence", type=float, default=0.95)
    args = parser.parse_args()
    if args.export:
        export(args.export, args.experiment)
    else:
        replay(args.confidence)


if __name__ == "__main__":
    main()
