"""Run by tests/test_fused.py in a process of its own on JAX (`python -m tests.fused_driver
OUT.json CELL ...`): each cell's seeds trained separately by `suite.train.fit.train` (Keras's
own `fit`) and together by `suite.train.fused.train_together`, with each of its programs
(map on one CPU device, map over two CPU devices side by side, vmap); writes every result."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import jax

from suite.train.data import load_splits
from suite.train.fit import execution_for, train
from suite.train.fused import train_together
from tests.conftest import make_spec

jax.config.update("jax_num_cpu_devices", 2)  # two lanes, whatever this machine's cores
PROGRAMS = {"map": ("map", 1), "lanes": ("map", 2), "vmap": ("vmap", 1)}  # (program, lanes)
SEEDS = (0, 5)  # not consecutive: each member's state comes from its own seed
# 250 images at batch 32: a last, partial batch of 26 in every epoch; 2 layers with Dropout.
TINY = {"units": 6, "layers": 2, "bidirectional": True, "epochs": 2, "batch_size": 32}
TINY |= {"train_size": 250, "validation_size": 100, "test_size": 100, "dropout": 0.3}


def _result(model, result) -> dict:
    return {
        "history": result.history,
        "test_loss": result.test_loss,
        "test_accuracy": result.test_accuracy,
        "confusion": result.confusion,
        "best_epoch": result.best_epoch,
        "param_count": result.param_count,
        "weights": [w.tolist() for w in model.get_weights()],
        "name": model.name,
    }


def main(out: str, cells: list[str]) -> None:
    found: dict[str, dict] = {}
    for cell in cells:
        specs = [make_spec(cell=cell, seed=seed, backend="jax", **TINY) for seed in SEEDS]
        splits = load_splits(specs[0].data)
        execution = execution_for(specs[0], splits)
        found[cell] = {"separate": [_result(*train(s, splits, execution=execution)) for s in specs]}
        for name, (program, lanes) in PROGRAMS.items():
            fused = replace(
                execution,
                mode="fused",
                fused_program=program,
                fused_members=len(specs),
                fused_lanes=lanes,
            )
            together = train_together(specs, splits, execution=fused)
            found[cell][name] = [_result(*pair) for pair in together]
    with open(out, "w") as file:
        json.dump(found, file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
