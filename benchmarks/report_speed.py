"""How fast the report reads and renders a big study.

    python benchmarks/report_speed.py            # 504 synthetic finished runs, 10 epochs each

Makes a SQLite store of synthetic finished runs with MLflow's own API (18 configurations x 28
seeds, 5 curves of 10 epochs each), then times the report end to end: collect (bulk curve
queries), statistics and plots, HTML + Markdown + CSV. Target: under 10 s on a 2-core machine.
The baseline, measured in the same run, is what the bulk path avoids: fetching each run's
curves with one `get_metric_history` call per run per metric.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from suite.library_logs import quiet_library_logs
from suite.report.build import build_report
from suite.report.collect import CURVE_METRICS, Source, collect
from suite.report.render import write_report

# The synthetic store is a test fixture, not part of the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.synthetic_store import SyntheticRun, make_store


def synthetic_runs(seeds: int) -> list[SyntheticRun]:
    cells = {"simple_rnn": 0.95, "lstm": 0.98, "gru": 0.978}
    return [
        SyntheticRun(
            cell,
            bi,
            depth,
            seed,
            base + 0.003 * bi + 0.002 * depth + 0.0007 * ((seed * 7919) % 11 - 5),
        )
        for (cell, base), bi, depth, seed in itertools.product(
            cells.items(), (False, True), (1, 2, 3), range(seeds)
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=28, help="seeds per configuration (x18 runs)")
    args = parser.parse_args()
    quiet_library_logs()
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        runs = synthetic_runs(args.seeds)
        start = time.perf_counter()
        make_store(uri, runs, experiment="bench", study="bench", epochs=10)
        print(f"made {len(runs)} synthetic runs in {time.perf_counter() - start:.1f} s", flush=True)

        start = time.perf_counter()
        collected = collect([Source("bench", "bench", uri)])
        collected_at = time.perf_counter()
        report = build_report(collected)
        built_at = time.perf_counter()
        write_report(report, Path(tmp) / "bench.html")
        done = time.perf_counter()
        total = done - start

        client = MlflowClient(uri)
        run_ids = collected.runs["run_id"].tolist()
        naive_start = time.perf_counter()
        for run_id in run_ids:
            for metric in CURVE_METRICS:
                client.get_metric_history(run_id, metric)
        naive = time.perf_counter() - naive_start

    curves = len(collected.curves)
    print(
        f"collect {collected_at - start:.2f} s ({curves} curve points),"
        f" statistics + plots {built_at - collected_at:.2f} s,"
        f" write {done - built_at:.2f} s"
    )
    print(
        f"report of {len(run_ids)} runs: {total:.2f} s in all,"
        f" {1000 * total / len(run_ids):.1f} ms per run (target: under 10 s)"
    )
    print(
        f"baseline, one get_metric_history call per run per metric: {naive:.2f} s for the"
        f" curves alone; whole report / baseline = {total / naive:.2f}"
    )
    return 0 if total < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
