"""What a worker trains next, for each kind of study (keras-tuner's "oracle" role).

A source answers one question, again and again: train this trial, wait (others are training
what is left), or stop. `suite.worker.loop` runs the same loop over either source, so interrupts,
heartbeats, stale trials and the stop after failures in a row are handled once, for both.

- `GridTrials` (grid_source): every grid point is one trial, enqueued by run_key; the largest
  runs first, seeds of one configuration together where that is faster (fused_claims).
- `RaceTrials` (race_source): the grid's runs that a race of seeds' current round needs.
- `SearchTrials` (search_source): Optuna's sampler asks for new points until the search has
  `n_trials` finished trials (complete or pruned) or its timeout passes.
- What a source answers, and the protocol each follows: `suite.worker.decisions`.
"""

from __future__ import annotations

from suite.study.config import Study
from suite.worker.decisions import TrialSource
from suite.worker.grid_source import GridTrials
from suite.worker.race_source import RaceTrials
from suite.worker.search_source import SearchTrials


def trial_source(study: Study, *, backend: str | None = None) -> TrialSource:
    """The source of a study's trials: its search, else its grid (created on first use);
    `backend`: only the grid's runs a worker on that backend may train."""
    if study.search is not None:
        return SearchTrials(study)
    if study.race is not None:
        return RaceTrials(study, backend=backend)
    return GridTrials(study, backend=backend)
