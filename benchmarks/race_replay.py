"""The race replayed on real results: the smoke grid trained with six seeds (108 runs).

    python benchmarks/race_replay.py                 # replay both recorded CSVs
    python benchmarks/race_replay.py --csv tests/data/smoke-six-seeds-4096.csv
    python benchmarks/race_replay.py --export URI --csv NEW.csv   # write a CSV from a store

Two recordings, one per version of the smoke study, kept under tests/data/:
- `smoke-six-seeds.csv`: 8,192 images at learning rate 1e-3 (the smoke study until 2026-12-04),
  recorded with
    python -m suite.run studies/smoke.yaml --set 'grid.seed=[0,1,2,3,4,5]' --set name=smoke6
      --set tracking.log_model=false --set tracking.system_metrics=false
- `smoke-six-seeds-4096.csv`: 4,096 images at learning rate 3e-3 (the smoke study since), one
  invocation per seed (`--set 'grid.seed=[S]'` for S in 0..5, same other settings), so that
  no run reuses another seed's traced steps and every run's seconds include its tracing, as a
  race's later rounds do.
Each was exported from its store (experiment smoke6). Printed: the six-seed grid's best by
mean validation accuracy, the race's answer (seeds 2 to 6, 95% confidence), the share of the
grid's runs and training seconds the race spent, and what the same race would spend with no
correction at all (each test at 5%: no guarantee, the test's own limit on these results).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from suite.race.decision import RaceRules, race
from suite.race.summary import race_line
from suite.schema import Metric, Role, Tag, config_label

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
RECORDINGS = (DATA / "smoke-six-seeds.csv", DATA / "smoke-six-seeds-4096.csv")
COLUMNS = ("configuration", "seed", "best_val_accuracy", "test_accuracy", "train_seconds")


def export(uri: str, experiment: str, path: Path) -> None:
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
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    print(f"{len(rows)} runs -> {path}")


class _Uncorrected(RaceRules):
    """Every test at level 1 - confidence: the most any test of this kind could eliminate."""

    def level(self, configurations: int) -> float:
        return 1 - self.confidence


def replay(path: Path, confidence: float) -> None:
    values: dict[str, dict[int, float]] = {}
    seconds: dict[str, dict[int, float]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            name, seed = row["configuration"], int(row["seed"])
            values.setdefault(name, {})[seed] = float(row["best_val_accuracy"])
            seconds.setdefault(name, {})[seed] = float(row["train_seconds"])
    means = {name: np.mean(list(v.values())) for name, v in values.items()}
    grid_best = max(means, key=means.__getitem__)
    print(
        f"{path.name}: {sum(map(len, values.values()))} runs; best by mean validation"
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
    # The data's own limit for this test: the same race with each Welch test at 1 - confidence,
    # uncorrected over configurations and rounds (no guarantee at all: over 17 x 5 tests the
    # best would fall often). A correction only lowers the level, so it eliminates no more.
    loose = race(values, _Uncorrected(min_seeds=2, max_seeds=6, confidence=confidence))
    loose_spent = sum(seconds[n][s] for n, k in loose.seeds_of.items() for s in range(k))
    print(
        f"with no correction (each test at {1 - confidence:.0%}, no guarantee):"
        f" {loose.runs} runs, {loose_spent / total:.0%} of the seconds, answer"
        f" {', '.join(loose.survivors)}"
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
    parser.add_argument("--csv", type=Path, help="one recording (default: both, to replay)")
    args = parser.parse_args()
    if args.export:
        if args.csv is None:
            parser.error("--export needs --csv: the file to write")
        export(args.export, args.experiment, args.csv)
    else:
        for path in [args.csv] if args.csv else RECORDINGS:
            replay(path, args.confidence)
            print()


if __name__ == "__main__":
    main()
