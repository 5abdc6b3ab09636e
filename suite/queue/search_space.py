"""An Optuna search's space as Optuna sees it: the sampler, the pruner, the study they drive
(its enqueued starting points) and one suggested value per parameter of the study's space."""

from __future__ import annotations

from typing import Any

import optuna

from suite.queue.run_queue import RunQueue
from suite.study.config import Study
from suite.study.search_checks import INTEGER_FIELDS
from suite.study.sections import SearchConfig, SearchParam


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
    if name in INTEGER_FIELDS:
        step = int(param.step or 1)
        return trial.suggest_int(name, int(param.low), int(param.high), step=step, log=param.log)
    return trial.suggest_float(name, param.low, param.high, step=param.step, log=param.log)
