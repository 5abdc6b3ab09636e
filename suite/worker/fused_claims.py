"""Seeds of one configuration trained together as one program (`training.execution: fused`,
or by default where that is faster here): whether to, and the seeds claimed with the first."""

from __future__ import annotations

from collections.abc import Callable

from suite.queue.planning import PlannedRun
from suite.study.config import Study
from suite.study.run_spec import RunSpec
from suite.train.execution import FUSED_MAX_MEMBERS
from suite.train.keras_startup import fuses_seeds_here
from suite.worker.decisions import FromRecord, TrainFused, TrainThis


def trains_fused(study: Study, first: TrainThis, available: list[PlannedRun]) -> bool:
    """Whether `first` trains with the other available seeds of its configuration: as the
    study asks, or by default where that is faster (only when there are others)."""
    if study.training.execution == "fused":
        return True
    key = first.spec.configuration_key
    if not any(p.spec.configuration_key == key and p.spec != first.spec for p in available):
        return False
    return fuses_seeds_here(study)


def claim_seeds_with(
    first: TrainThis,
    available: list[PlannedRun],
    claim: Callable[[RunSpec], TrainThis | FromRecord | None],
) -> TrainFused:
    """`first` and the other available seeds of its configuration that `claim` takes for
    this worker (lowest seeds first, at most FUSED_MAX_MEMBERS to train)."""
    members, recorded = [first], []
    key = first.spec.configuration_key
    seeds = sorted(
        (p.spec for p in available if p.spec.configuration_key == key and p.spec != first.spec),
        key=lambda spec: spec.seed,
    )
    for spec in seeds:
        if len(members) == FUSED_MAX_MEMBERS:
            break
        claimed = claim(spec)
        if isinstance(claimed, TrainThis):
            members.append(claimed)
        elif claimed is not None:
            recorded.append(claimed)
    members.sort(key=lambda member: member.spec.seed)
    # The others may have been taken or recorded meanwhile: the loop answers the recorded
    # ones and trains a lone member as a run of its own (unless the study asks for fused).
    return TrainFused(tuple(members), tuple(recorded))
