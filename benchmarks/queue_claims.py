"""Workers claiming from one PostgreSQL queue: claims per second as the queue grows, and
every run claimed exactly once.

    python benchmarks/queue_claims.py                        # 8 workers; 504, 1,008, 2,016 runs
    python benchmarks/queue_claims.py --workers 4 --runs 252

Starts a PostgreSQL cluster (Debian's package, as the tests do) and, for each size, a grid
study of 18 configurations x S seeds with its queue there. The parent opens the study (the
queue reconciled and every run enqueued, as `--workers` does), then W worker processes take
runs through the suite's own trial source (`GridTrials.next`: plan, enqueue, claim) and close
each at once with a made-up result: no training and no MLflow writes, so what is timed is the
queue alone. Prints the wall seconds, claims per second, milliseconds per claim and worker,
the peak memory of the largest worker, and checks that each run_key ended COMPLETE exactly
once. The ratio printed last, per-claim cost at the largest size over the smallest, is about
1 where a claim costs the same however long the queue, and grows with the size where each
claim reads the whole queue.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SEEDS_PER_SIZE = (28, 56, 112)  # x 18 configurations


class _NoProgress:
    """What `GridTrials.next` reports progress to; a benchmark shows none."""

    def set_done(self, done: int) -> None: ...

    def set_estimates(self, estimates: object) -> None: ...


def load(study_file: Path):
    from suite.study.file import load_study

    return load_study(study_file)


def worker(study_file: Path, claimed) -> None:
    from suite.queue.run_queue import Verdict
    from suite.schema import TrialResult
    from suite.worker.decisions import Stop, TrainThis, Wait
    from suite.worker.sources import trial_source

    source = trial_source(load(study_file))
    source.open()  # as every worker of --workers does: reconcile, enqueue what lacks a trial
    # No MLflow runs are made: a closed trial's made-up run counts as in the store, or the
    # queue would (rightly) call every run lost from MLflow and train it again.
    source.queue.use_record(source.finished_runs.read(), lambda run_id: True)
    source.read_record = lambda: None  # and is never read again
    keys = []
    while True:
        decision = source.next(_NoProgress(), tried=set(keys))
        if isinstance(decision, Stop):
            break
        if isinstance(decision, Wait):
            time.sleep(0.05)
            continue
        assert isinstance(decision, TrainThis), decision
        result = TrialResult(mlflow_run_id=f"bench-{decision.trial.number}", best_val_value=0.9)
        source.queue.close(decision.trial, Verdict.finished(result, value=0.9, pruned=False))
        keys.append(decision.spec.run_key)
    claimed.put((keys, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def study_file(folder: Path, seeds: int, storage: str) -> Path:
    import yaml
    from load import classic_grid  # benchmarks/, this script's folder

    study = {
        "name": f"claims{seeds}",
        "grid": classic_grid(seeds),
        "tracking": {"uri": f"sqlite:///{folder / 'mlflow.db'}"},
        "storage": storage,
        "workers": {"heartbeat_seconds": 5},
    }
    path = folder / f"claims{seeds}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def measure(path: Path, workers: int) -> tuple[float, int, float, Counter]:
    from optuna.trial import TrialState

    from suite.worker.sources import trial_source

    study = load(path)
    source = trial_source(study)
    source.open()  # reconciled and enqueued once, as the --workers parent does
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as real workers
    claimed = context.Queue()
    processes = [context.Process(target=worker, args=(path, claimed)) for _ in range(workers)]
    start = time.perf_counter()
    for process in processes:
        process.start()
    results = [claimed.get() for _ in processes]
    for process in processes:
        process.join()
    seconds = time.perf_counter() - start
    keys = Counter(key for found, _ in results for key in found)
    peak = max(rss for _, rss in results)
    complete = Counter(
        t.user_attrs["run_key"]
        for t in source.queue.optuna_study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    )
    assert set(complete.values()) == {1} and len(complete) == len(source.specs), complete
    return seconds, sum(keys.values()), peak, keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--runs", default=",".join(str(18 * s) for s in SEEDS_PER_SIZE))
    args = parser.parse_args()
    from suite.library_logs import quiet_library_logs
    from tests.helpers.servers import postgres

    quiet_library_logs()
    sizes = [int(runs) // 18 for runs in args.runs.split(",")]
    per_claim = []
    with postgres() as server, tempfile.TemporaryDirectory() as tmp:
        import subprocess

        for seeds in sizes:
            database = f"claims{seeds}"
            subprocess.run(
                [
                    "createdb",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    server.rsplit(":", 1)[1],
                    "-U",
                    "suite",
                    database,
                ],
                check=True,
                env={**os.environ, "PATH": f"{_pg_bin()}:{os.environ['PATH']}"},
            )
            path = study_file(Path(tmp), seeds, f"{server}/{database}")
            seconds, claims, peak, keys = measure(path, args.workers)
            assert claims == 18 * seeds and set(keys.values()) == {1}, keys.most_common(3)
            ms = 1000 * seconds * args.workers / claims
            per_claim.append(ms)
            print(
                f"{claims:6} runs, {args.workers} workers: {seconds:6.1f} s,"
                f" {claims / seconds:6.1f} claims/s, {ms:6.1f} ms per claim and worker,"
                f" {peak:4.0f} MiB peak per worker; each run claimed once",
                flush=True,
            )
    if len(per_claim) > 1:
        print(f"per-claim cost, largest / smallest queue: {per_claim[-1] / per_claim[0]:.2f}")
    return 0


def _pg_bin() -> str:
    import glob

    return str(Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/createdb"))[-1]).parent)


if __name__ == "__main__":
    sys.exit(main())
