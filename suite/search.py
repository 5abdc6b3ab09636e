"""An Optuna search in one worker: ask, train with pruning, tell, until the study has
`n_trials` finished trials (complete or pruned) in total, or the timeout passes.

Trials are ordinary suite runs: a child run in MLflow with the same params, tags, curves and
artifacts as a grid run, linked both ways with its trial. Several workers (`--workers N`, or
processes on other machines sharing the storage) run this same loop; the storage hands each
`ask` a distinct trial. A worker's trial that goes stale is failed and its parameters enqueued
again, so the next `ask` anywhere retries it (as Optuna's RetryFailedTrialCallback would).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from rich.console import Console

from suite.runner import (
    MAX_CONSECUTIVE_FAILURES,
    RunOutcome,
    StudyFailed,
    StudyInterrupted,
    StudyOutcome,
    train_trial,
    worker_session,
)
from suite.scheduler import RunQueue
from suite.schema import TrialAttr
from suite.study import SearchConfig, SearchParam, Study, search_spec

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def make_sampler(search: SearchConfig) -> optuna.samplers.BaseSampler:
    if search.sampler == "random":
        return optuna.samplers.RandomSampler(seed=search.sampler_seed)
    if search.sampler == "qmc":
        return optuna.samplers.QMCSampler(seed=search.sampler_seed, warn_independent_sampling=False)
    # constant_liar: trials running on other workers count as bad guesses meanwhile, so
    # parallel workers do not all sample next to the same promising point.
    return optuna.samplers.TPESampler(seed=search.sampler_seed, constant_liar=True)


def make_pruner(search: SearchConfig, epochs: int) -> optuna.pruners.BasePruner:
    if search.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=search.pruner_startup_trials,
            # Steps are epochs from 1: the first `pruner_warmup_epochs` are never pruned.
            n_warmup_steps=search.pruner_warmup_epochs + 1,
        )
    if search.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1))
    return optuna.pruners.NopPruner()


def open_search(study: Study) -> RunQueue:
    """The study's Optuna study with its sampler and pruner (created on first use)."""
    assert study.search is not None
    queue = RunQueue(
        study,
        direction=study.search.direction,
        sampler=make_sampler(study.search),
        pruner=make_pruner(study.search, study.training.epochs),
    )
    optuna_study = queue.optuna_study
    assert optuna_study is not None
    if study.search.enqueue and not optuna_study.get_trials(deepcopy=False):
        for point in study.search.enqueue:
            optuna_study.enqueue_trial(point, skip_if_exists=True)
    return queue


def suggest(trial: optuna.Trial, name: str, param: SearchParam) -> Any:
    if param.choices is not None:
        return trial.suggest_categorical(name, param.choices)
    assert param.low is not None and param.high is not None
    if name in {"layers", "units", "epochs", "batch_size"}:
        step = int(param.step or 1)
        return trial.suggest_int(name, int(param.low), int(param.high), step=step, log=param.log)
    return trial.suggest_float(name, param.low, param.high, step=param.step, log=param.log)


def counts(queue: RunQueue) -> dict[str, int]:
    assert queue.optuna_study is not None
    trials = queue.optuna_study.get_trials(deepcopy=False)
    return {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}


def run_search(
    study: Study,
    *,
    console: Console,
    source_file: Path | None = None,
    worker_name: str | None = None,
) -> StudyOutcome:
    search = study.search
    assert search is not None
    queue = open_search(study)
    finished = sum(counts(queue)[s.name.lower()] for s in FINISHED)
    target = search.n_trials
    console.print(
        f"search [bold]{study.name}[/]: {finished} trials finished before"
        f"{f', {target} wanted' if target else ''}; sampler {search.sampler},"
        f" pruner {search.pruner}, objective {search.objective}\n"
        f"  tracking {study.tracking.uri}\n  queue    {queue.url}",
        highlight=False,
    )
    if target is not None and finished >= target:
        console.print(f"nothing to train: the search has its {target} finished trials already.")
        return StudyOutcome(study, [])

    outcomes: list[RunOutcome] = []
    consecutive_failures = 0
    started = time.monotonic()
    with worker_session(
        study,
        console,
        source_file=source_file,
        worker_name=worker_name,
        total=target or 0,
        done=finished,
    ) as (tracker, progress, env):
        try:
            while True:
                _retry_stale(queue, tracker)
                state = counts(queue)
                done = state["complete"] + state["pruned"]
                progress.set_done(done)
                if target is not None and done + state["running"] >= target:
                    if state["running"] == 0:
                        break
                    time.sleep(study.execution.poll_seconds)  # others finish the last ones
                    continue
                if search.timeout_seconds and time.monotonic() - started > search.timeout_seconds:
                    break
                outcome = _one_trial(study, queue, tracker, progress, env)
                outcomes.append(outcome)
                # Failed trials never count towards n_trials: a search whose every trial fails
                # would ask for new ones forever. As in a grid, failures in a row stop it.
                consecutive_failures = consecutive_failures + 1 if outcome.error else 0
                if consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                    raise StudyFailed(
                        f"{consecutive_failures} trials failed in a row; the last error"
                        f" was:\n{outcome.error}"
                    )
        except KeyboardInterrupt:
            raise StudyInterrupted(StudyOutcome(study, outcomes, True)) from None
    return StudyOutcome(study, outcomes)


def _one_trial(
    study: Study, queue: RunQueue, tracker: Any, progress: Any, env: dict[str, Any]
) -> RunOutcome:
    search = study.search
    assert search is not None and queue.optuna_study is not None
    trial = queue.optuna_study.ask()
    queue.adopt(trial)
    params = {name: suggest(trial, name, param) for name, param in search.space.items()}
    spec = search_spec(study, params)
    trial.set_user_attr(TrialAttr.RUN_KEY, spec.run_key)
    trial.set_user_attr(TrialAttr.LABEL, spec.label)
    trial.set_user_attr(TrialAttr.EPOCHS, spec.training.epochs)
    return train_trial(
        spec,
        trial,
        queue,
        tracker,
        progress,
        env,
        objective=search.objective,
        prune=search.pruner != "none",
    )


def _retry_stale(queue: RunQueue, tracker: Any) -> None:
    """Fail trials whose worker is gone, mark their MLflow runs KILLED, enqueue them again."""
    assert queue.optuna_study is not None
    for trial in queue.optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if queue.is_stale(trial):
            queue.fail_stale(trial)
            queue.optuna_study.enqueue_trial(dict(trial.params), skip_if_exists=False)
    tracker.mark_killed(queue.stale_mlflow_runs)
    queue.stale_mlflow_runs.clear()
