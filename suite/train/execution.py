"""How Keras executes one run: chosen for speed from the backend, the device, the sequence
length and the run's size, never by changing the model, the data or the optimiser.

Each choice is kept only where `benchmarks/execution_speed.py` measured it faster on the CPU
(figures: docs/explanation/performance.md); the GPU choices are Keras's own (cuDNN):

- `unroll=True` for short sequences of LSTM and SimpleRNN layers on the TensorFlow CPU
  backend: the loop over time steps becomes straight-line graph code. Not the GRU, which was
  not reliably faster. Tracing the unrolled graph costs more once per run, so it pays only past
  `UNROLL_MIN_STEPS` training steps. Never for the 784-step views (the graph would be huge),
  never on a GPU (it would disable cuDNN), and not on JAX or PyTorch, where it was not faster.
- Validation at a large batch (`VALIDATION_BATCH`): the forward pass over the validation set
  runs as a few large matrix products instead of hundreds of small ones (a smaller last batch
  traces nothing again: Keras's step reads batches of any size). Training batches are never
  touched: they are the model's mathematics.
- Not kept: `steps_per_execution` > 1 and thread settings other than TensorFlow's defaults
  (no gain), `jit_compile=True` (slower on the CPU, and XLA changes results: it is left at
  Keras's "auto").

`unroll` may reorder the floating-point sums of the gradient over time steps, and validation
at another batch size sums the validation loss in another order, so losses can differ from
the loop's in the last float32 digits. Training batches, initial weights, dropout masks and the
optimiser are identical; `tests/training/test_parity.py` holds the suite to a plain Keras
script within its stated tolerances, for every cell and direction. `training.execution:
plain` turns all of it off and runs Keras's defaults exactly; `training.execution: fused`
makes the same choices and trains a worker's seeds of one configuration together as one JAX
program (suite/train/fused.py); the default (`fast`) does too where that was measured faster
with the same numbers (`fuses_seeds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from suite.schema import Tag
from suite.study.config import Study
from suite.study.run_spec import RunSpec

UNROLL_MAX_TIME_STEPS = 32  # the rows view (28) unrolls; pixels / permuted (784) never do
UNROLL_MIN_STEPS = 1_000  # training steps past which unrolling's extra tracing pays for itself
VALIDATION_BATCH = 2_048  # largest validation batch; memory stays small for 50-unit models
CUDNN_CELLS = {"lstm", "gru"}  # Keras runs these on cuDNN on a GPU (any backend) when it can
UNROLL_CELLS = {"lstm", "simple_rnn"}  # measured faster unrolled on the CPU; the GRU was not
# Seeds one worker trains together at most (`training.execution: fused`): a default race's
# 10 seeds fit; memory grows with the members (weights, optimiser slots, a batch's activations).
FUSED_MAX_MEMBERS = 16


@dataclass(frozen=True)
class Execution:
    """How one run executes; recorded on the run as `exec.*` tags."""

    mode: str  # fast | plain | fused
    backend: str  # tensorflow | jax | torch
    accelerator: str  # cpu | gpu
    kernel: str  # cudnn | unrolled | loop: how each recurrent layer steps through time
    unroll: bool
    validation_batch_size: int | None  # None: Keras's default (the training batch size)
    steps_per_execution: int = 1
    fused_members: int = 1  # runs trained together as one program (suite.train.fused)
    # How that program steps its members: "vmap" batches them (a GPU's kernels are tiny for
    # one small model), "map" runs them one after another inside it (on a CPU batching was
    # slower, and this gives each member's numbers bit for bit); "none" when not fused.
    fused_program: str = "none"
    # CPU devices ("lanes") that step the members of a "map" program side by side, each its
    # share one after another: JAX's CPU program keeps about one core busy for these models.
    fused_lanes: int = 1

    def tags(self) -> dict[str, str]:
        values = {
            "mode": self.mode,
            "backend": self.backend,
            "accelerator": self.accelerator,
            "kernel": self.kernel,
            "unroll": str(self.unroll).lower(),
            "validation_batch_size": str(self.validation_batch_size or "default"),
            "steps_per_execution": str(self.steps_per_execution),
            "fused": str(self.mode == "fused").lower(),
            "fused_members": str(self.fused_members),
            "fused_program": self.fused_program,
            "fused_lanes": str(self.fused_lanes),
        }
        return {Tag.exec(name): value for name, value in values.items()}


def fuses_seeds(study: Study, *, backend: str, accelerator: str, cores: int) -> bool:
    """Whether a worker trains the seeds of one configuration together (suite.train.fused):
    when the study asks (`training.execution: fused`), and by default (`fast`) where it
    measured at least 1.5x the throughput of separate runs with each member's numbers its
    separate run's bit for bit: JAX on a CPU, a worker with 2 cores or more (lanes side by
    side: x2.0 for the seed model and the smoke study's slowest run on 2 cores; on one core
    x1.27 and x1.52, benchmarks/fused_seeds.py), for a grid's or a race's seeds trained for
    the same epochs. Not on a GPU (batched there, unmeasured) nor on TensorFlow (no fused
    path)."""
    training = study.training
    if training.execution == "fused":
        return True
    return (
        training.execution == "fast"
        and backend == "jax"
        and accelerator == "cpu"
        and cores >= 2
        and study.search is None
        and training.early_stopping is None
    )


def fused_execution(execution: Execution, members: int) -> Execution:
    """`execution` for `members` seeds trained together as one program: batched on a GPU,
    one after another (in lanes, set by the caller) on a CPU."""
    return replace(
        execution,
        mode="fused",
        fused_program="vmap" if execution.accelerator == "gpu" else "map",
        fused_members=members,
    )


def reuses_traced_steps(mode: str, backend: str) -> bool:
    """Whether a configuration's later seeds train on its first seed's traced steps
    (`suite.train.compiled`): TensorFlow in the fast mode, the only one measured."""
    return mode == "fast" and backend == "tensorflow"


def training_steps(spec: RunSpec, train_size: int) -> int:
    """Optimiser steps of the whole run: epochs x batches per epoch (the last one partial)."""
    return spec.training.epochs * math.ceil(train_size / spec.training.batch_size)


def choose_execution(
    spec: RunSpec,
    *,
    backend: str,
    accelerator: str,
    train_size: int,
    validation_size: int,
    min_unroll_steps: int = UNROLL_MIN_STEPS,
) -> Execution:
    """The execution of one run on this backend and device (see the module docstring)."""
    on_gpu = accelerator == "gpu"
    cudnn = on_gpu and spec.model.cell in CUDNN_CELLS
    if spec.training.execution == "plain":
        return Execution(
            mode="plain",
            backend=backend,
            accelerator=accelerator,
            kernel="cudnn" if cudnn else "loop",
            unroll=False,
            validation_batch_size=None,
        )
    unroll = (
        spec.training.execution == "fast"
        and backend == "tensorflow"
        and not on_gpu
        and spec.model.cell in UNROLL_CELLS
        and spec.data.input_shape[0] <= UNROLL_MAX_TIME_STEPS
        and training_steps(spec, train_size) >= min_unroll_steps
        # Keras's unrolled loop mis-orders a masked backward layer's returned sequence (a
        # stacked bidirectional model's padded series then differ: tests/sequences/test_masking.py).
        and not spec.data.masked
    )
    batch = max(spec.training.batch_size, min(validation_size, VALIDATION_BATCH))
    fused = spec.training.execution == "fused"
    return Execution(
        mode=spec.training.execution,  # fast, or fused: the same choices, seeds together
        backend=backend,
        accelerator=accelerator,
        kernel="cudnn" if cudnn else "unrolled" if unroll else "loop",
        unroll=unroll,
        validation_batch_size=batch,
        fused_program=("vmap" if on_gpu else "map") if fused else "none",
    )
