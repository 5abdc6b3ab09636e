"""Run by tests/training/test_fused.py in a process of its own on JAX (`python -m
tests.helpers.fused_driver OUT.json CELL ...`): each cell's seeds trained separately by
`suite.train.fit.train` (Keras's own `fit`) and together by `suite.train.fused.train_fused`,
with each of its programs (map on one CPU device; map over two and over three CPU devices side
by side, the two-lane one padded with a copy of a member; vmap), on MNIST or on masked archive
data; writes every result, and how many of the lanes' executables were loaded onto their device
rather than compiled again. On MNIST the separate runs are the tutorial's plain Keras script
(tests/helpers/plain_keras.py) rather than the suite's: the members are held to Keras itself."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import jax
import numpy as np

from suite.study.data_config import DataConfig
from suite.train import lanes as lanes_module
from suite.train.data import load_splits
from suite.train.fit import execution_for, train
from suite.train.fused import train_fused
from tests.conftest import make_spec
from tests.helpers import plain_keras

jax.config.update("jax_num_cpu_devices", 3)  # three lanes, whatever this machine's cores
# (program, lanes): 3 members on 2 lanes are shares [0, 1] and [2, 2] (padded), on 3 [0] [1] [2]
PROGRAMS = {"map": ("map", 1), "lanes2": ("map", 2), "lanes3": ("map", 3), "vmap": ("vmap", 1)}
SEEDS = (0, 5, 7)  # not consecutive: each member's state comes from its own seed
# 250 images at batch 32: a last, partial batch of 26 in every epoch; 2 layers with Dropout.
TINY = {"units": 6, "layers": 2, "bidirectional": True, "epochs": 2, "batch_size": 32}
TINY |= {"train_size": 250, "validation_size": 100, "test_size": 100, "dropout": 0.3}


def _result(model, result) -> dict:
    return {
        "history": result.history,
        "test_loss": result.test_loss,
        "test_value": result.test_value,
        "confusion": result.confusion,
        "best_epoch": result.best_epoch,
        "param_count": result.param_count,
        "weights": [w.tolist() for w in model.get_weights()],
        "name": model.name,
    }


def _plain_keras(cell: str, seed: int) -> dict:
    """The tutorial's script with TINY's model, data and training: what `_result` gives of a
    run, computed with Keras and numpy alone (test loss by `evaluate`, at the batch size)."""
    arrays = plain_keras.tutorial_arrays(
        TINY["train_size"], TINY["validation_size"], TINY["test_size"]
    )
    model, history = plain_keras.plain_fit(
        cell,
        TINY["bidirectional"],
        arrays,
        seed=seed,
        units=TINY["units"],
        dropout=TINY["dropout"],
        epochs=TINY["epochs"],
        batch=TINY["batch_size"],
    )
    x_test, y_test = arrays[4:]
    test_loss, _ = model.evaluate(x_test, y_test, batch_size=TINY["batch_size"], verbose=0)
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test, predicted), 1)
    return {
        "history": {name: [float(v) for v in values] for name, values in history.items()},
        "test_loss": float(test_loss),
        "test_value": float(np.mean(predicted == y_test)),
        "confusion": confusion.tolist(),
        "best_epoch": int(np.argmax(history["val_accuracy"])) + 1,  # the first of equal bests
        "param_count": int(model.count_params()),
        "weights": [w.tolist() for w in model.get_weights()],
        "name": f"{cell}-bi-2L-s{seed}",  # the suite's label of that run
        "plain": True,
    }


RETARGETED: list[str] = []


def _counted_retarget(compiled, device):
    RETARGETED.append(str(device))
    return RETARGET(compiled, device)


RETARGET, lanes_module.retarget = lanes_module.retarget, _counted_retarget


def main(out: str, cells: list[str]) -> None:
    """`cells`: each a cell, or CELL:vowels for JapaneseVowels (variable lengths, masked), or
    CELL:tecator for Tecator (a regression target: linear head, mean squared error, RMSE)."""
    found: dict[str, dict] = {"retargeted": {}}
    for name in cells:
        cell, _, data = name.partition(":")
        specs = [make_spec(cell=cell, seed=seed, backend="jax", **TINY) for seed in SEEDS]
        archive = {"vowels": "JapaneseVowels", "tecator": "Tecator"}.get(data)
        if archive is not None:
            specs = [s.model_copy(update={"data": DataConfig(archive=archive)}) for s in specs]
        cell = name
        splits = load_splits(specs[0].data)
        execution = execution_for(specs[0], splits)
        if archive is None:
            separate = [_plain_keras(cell, seed) for seed in SEEDS]
        else:
            separate = [_result(*train(s, splits, execution=execution)) for s in specs]
        found[cell] = {"separate": separate}
        for name, (program, lanes) in PROGRAMS.items():
            fused = replace(
                execution,
                mode="fused",
                fused_program=program,
                fused_members=len(specs),
                fused_lanes=lanes,
            )
            RETARGETED.clear()
            together = train_fused(specs, splits, execution=fused)
            found[cell][name] = [_result(*pair) for pair in together]
            found["retargeted"][f"{cell} {name}"] = sorted(set(RETARGETED))
    with open(out, "w") as file:
        json.dump(found, file)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
