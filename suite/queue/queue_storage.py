"""The Optuna study behind a suite study, on its storage: created or loaded, its trials found
by run_key and their storage ids, whether a trial's worker is gone, and another worker's (or
nobody's) trial failed. The queue's planning, claims and closing build on it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from suite.queue.grid_params import grid_distributions
from suite.queue.worker_identity import process_alive
from suite.record.environment import host_name
from suite.schema import TrialAttr
from suite.stores.optuna_storage import create_or_load, open_storage, storage_exists, storage_url
from suite.study.config import Study
from suite.study.run_spec import RunSpec

HEARTBEAT = TrialAttr.HEARTBEAT


class QueueStorage:
    """The Optuna study of one suite study, and the storage it lives on."""

    def __init__(
        self,
        study: Study,
        *,
        specs: Sequence[RunSpec] | None = None,
        create: bool = True,
        **study_options: Any,
    ) -> None:
        """`specs`: the runs to plan and claim (else all of the grid's: `Study.runs`);
        `study_options` (sampler, pruner) go to `optuna.create_study`."""
        self.study = study
        self.url = storage_url(study)
        self.optuna_study: optuna.Study | None = None
        self._storage: BaseStorage | None = None
        self._trial_ids: dict[int, int] = {}  # trial number -> storage id; never changes
        if specs is None:
            specs = study.runs
        self.distributions = grid_distributions(study, specs)
        if create:
            self._storage, self.optuna_study = create_or_load(
                study.name,
                self.url,
                objective=study.objective,
                kind="search" if study.search else "grid",
                **study_options,
            )
        elif storage_exists(self.url):
            with contextlib.suppress(KeyError):
                self._storage = open_storage(self.url)
                self.optuna_study = optuna.load_study(study_name=study.name, storage=self._storage)

    @property
    def storage(self) -> BaseStorage:
        assert self._storage is not None
        return self._storage

    def _trials_by_key(self) -> dict[str, list[FrozenTrial]]:
        by_key: dict[str, list[FrozenTrial]] = {}
        if self.optuna_study is not None:
            for trial in self.optuna_study.get_trials(deepcopy=False):
                key = trial.user_attrs.get(TrialAttr.RUN_KEY)
                if key:
                    by_key.setdefault(key, []).append(trial)
        return by_key

    def trial_id(self, trial: FrozenTrial | optuna.Trial) -> int:
        """The storage's id of a trial, through the storage's public look-up by number."""
        if trial.number not in self._trial_ids:
            study_id = self.storage.get_study_id_from_name(self.study.name)
            self._trial_ids[trial.number] = self.storage.get_trial_id_from_study_id_trial_number(
                study_id, trial.number
            )
        return self._trial_ids[trial.number]

    def is_stale(self, trial: FrozenTrial) -> bool:
        """RUNNING, but its worker is gone: a dead pid on this host, or no recent heartbeat."""
        worker = trial.user_attrs.get(TrialAttr.WORKER)
        here = isinstance(worker, dict) and worker.get("host") == host_name()
        if here and not process_alive(int(worker.get("pid", -1)), worker.get("started")):
            return True
        last = trial.system_attrs.get(HEARTBEAT)
        if last is None:  # claimed a moment ago, before its first beat: judge by its start
            start = trial.datetime_start
            last = start.timestamp() if start else time.time()
        return time.time() - float(last) > self.study.workers.stale_after_seconds

    def _close(self, trial: FrozenTrial, reason: str) -> None:
        """Fail another worker's (or nobody's) trial; quietly skip one that finished meanwhile."""
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
            self.storage.set_trial_user_attr(self.trial_id(trial), TrialAttr.FAILURE, reason)
            self.storage.set_trial_state_values(self.trial_id(trial), TrialState.FAIL)
