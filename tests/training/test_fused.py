"""Seeds trained together (`training.execution: fused`, suite/train/fused.py): each member
equals its separate run within stated tolerances (on MNIST the tutorial's plain Keras script,
on archive data the suite's run by Keras's own `fit`), and each is recorded as its own run,
once, whatever trained it before."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from optuna.trial import TrialState

from tests.conftest import (
    FAST,
    ROOT,
    child_runs,
    finished_per_key,
    run_cli,
    start_cli,
    store_client,
    study_file,
    trials,
    with_logged_model,
)

JAX = {"KERAS_BACKEND": "jax"}
# Stated tolerances of the batched program (vmap, a GPU's): a member's curves and weights are
# its separate run's but for the order of float32 sums in batched operations. The program a
# CPU runs (map) steps each member alone, on one CPU device or with the members shared over
# two side by side (lanes): its numbers are the separate run's, exactly.
CURVE_RTOL = 1e-6  # losses and accuracies of every epoch, training and validation
WEIGHT_ATOL = 1e-6  # every weight after training (float32 values of order 0.1 to 1)
TEST_LOSS_RTOL = 1e-6


def _same_run(alone: dict, member: dict, *, exact: bool, where: str) -> None:
    """`member` against `alone`, its separate run: the suite's, or on MNIST the tutorial's
    plain Keras script, whose validation and test losses are summed over batches of 32 (the
    suite's over one batch: tests/training/test_parity.py's tolerance for that rounding)."""
    assert member["name"] == alone["name"], where  # its own label, as logged
    summed_apart = {"val_loss"} if alone.get("plain") else set()
    for name, values in alone["history"].items():
        if name == "epoch_seconds":
            continue
        if exact and name not in summed_apart:
            assert member["history"][name] == values, (where, name)
        else:
            np.testing.assert_allclose(
                member["history"][name], values, rtol=CURVE_RTOL, err_msg=f"{where} {name}"
            )
    if exact and not alone.get("plain"):
        assert member["test_loss"] == alone["test_loss"], where
    else:
        assert member["test_loss"] == pytest.approx(alone["test_loss"], rel=TEST_LOSS_RTOL)
    if exact:
        assert member["weights"] == alone["weights"], where
    else:
        for a, b in zip(alone["weights"], member["weights"], strict=True):
            np.testing.assert_allclose(b, a, rtol=0, atol=WEIGHT_ATOL, err_msg=where)
    for final in ("test_value", "confusion", "best_epoch", "param_count"):
        assert member[final] == alone[final], (where, final)


@pytest.mark.slow
# One process each, in parallel; gru:vowels: JapaneseVowels' series of 7-29 steps, masked;
# lstm:tecator: a regression target (linear head, mean squared error, RMSE curves).
@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru", "gru:vowels", "lstm:tecator"])
def test_each_member_equals_its_separate_run_for_every_cell(tmp_path, cell):
    out = tmp_path / "fused.json"
    subprocess.run(
        [sys.executable, "-m", "tests.helpers.fused_driver", str(out), cell],
        cwd=ROOT,
        env={**os.environ, **JAX},
        check=True,
        timeout=600,
    )
    found = json.loads(out.read_text())
    retargeted = found.pop("retargeted")
    assert set(found) == {cell}
    for cell, results in found.items():
        separate = results["separate"]
        # One executable per step serves every lane: loaded onto the other lanes' devices.
        assert retargeted[f"{cell} lanes2"] == ["cpu:1"], retargeted
        assert retargeted[f"{cell} lanes3"] == ["cpu:1", "cpu:2"], retargeted
        assert retargeted[f"{cell} map"] == retargeted[f"{cell} vmap"] == []
        for program in ("map", "lanes2", "lanes3", "vmap"):
            together = results[program]
            assert len(separate) == len(together) == 3
            for alone, member in zip(separate, together, strict=True):
                where = f"{cell} {program} {alone['name']}"
                _same_run(alone, member, exact=program != "vmap", where=where)
        # The members are not one model trained twice: seeds differ, so do results.
        assert len({m["history"]["loss"][-1] for m in separate}) == 3, cell
        if cell.endswith(":tecator"):  # trained as a regression, not as one class
            assert {"rmse", "val_rmse"} <= set(separate[0]["history"])
            assert separate[0]["confusion"] is None


FUSED_STUDY = {
    "tracking": {"log_model": True, "log_plots": False, "system_metrics": False},
    "training": {"epochs": 2, "batch_size": 32, "execution": "fused"},
    "grid": {"cell": ["gru", "lstm"], "bidirectional": [False], "seed": [0, 1, 2]},
}


@pytest.mark.slow
def test_a_fused_study_records_each_seed_as_its_own_run_once(tmp_path, write_study):
    """Seed 1 of the GRU is recorded first by a separate (fast) run: the fused study trains
    the GRU's seeds 0 and 2 together and the LSTM's three, and never seed 1 again (the
    execution is not part of a run's identity); each member is its own FINISHED run with its
    own curves and its program's tags; a rerun trains nothing."""
    first = write_study(
        {
            **FUSED_STUDY,
            "training": {"execution": "fast"},
            "grid": {"cell": ["gru"], "bidirectional": [False], "seed": [1]},
        }
    )
    assert run_cli(first, cwd=tmp_path, env=JAX).returncode == 0
    path = write_study(FUSED_STUDY)
    result = run_cli(path, cwd=tmp_path, env=JAX)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 runs, 1 done before, 5 to train" in result.stdout
    client = store_client(tmp_path)
    assert set(finished_per_key(client).values()) == {1}
    runs = {r.info.run_name: r for r in child_runs(client)}
    assert len(runs) == 6
    members = {name: run.data.tags.get("exec.fused_members") for name, run in runs.items()}
    assert members == {
        "gru-uni-1L-s0": "2",
        "gru-uni-1L-s1": "1",  # the separate run, tagged as one
        "gru-uni-1L-s2": "2",
        "lstm-uni-1L-s0": "3",
        "lstm-uni-1L-s1": "3",
        "lstm-uni-1L-s2": "3",
    }
    assert runs["gru-uni-1L-s1"].data.tags["exec.fused"] == "false"
    assert runs["gru-uni-1L-s0"].data.tags["exec.fused_program"] == "map"  # on the CPU
    # Lanes (CPU devices, two per core): with 2 cores or more, 2 and 3 members each get a lane
    # of their own (3 lanes on 2 cores: 1.5 steps' time, against 2 for shares of 2); on one
    # core, lanes would only share it.
    cores = int(os.environ.get("SUITE_THREADS") or len(os.sched_getaffinity(0)))
    lanes = {name: run.data.tags.get("exec.fused_lanes") for name, run in runs.items()}
    assert lanes == {n: k if cores >= 2 else "1" for n, k in members.items()}
    assert {runs[n].data.tags["exec.mode"] for n in runs if n != "gru-uni-1L-s1"} == {"fused"}
    final_losses = set()
    for run in runs.values():
        assert run.info.status == "FINISHED"
        for curve in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds"):
            steps = [m.step for m in client.get_metric_history(run.info.run_id, curve)]
            assert sorted(steps) == [1, 2], (run.info.run_name, curve)
        assert run.data.params["optimizer_learning_rate"]  # MLflow's callback, as when live
        final_losses.add(run.data.metrics["loss"])
    assert len(final_losses) == 6  # six runs, six results
    # Each member's logged model holds its own trained weights: loaded back in a process of
    # its own, it scores the test accuracy its run recorded.
    for name in ("lstm-uni-1L-s0", "lstm-uni-1L-s2"):
        run = runs[name]
        assert (
            _logged_model_accuracy(tmp_path, run.info.run_id) == run.data.metrics["test_accuracy"]
        )
    # What the estimates learn from: the LSTM's three trials were claimed together and closed
    # one after another, so their run_seconds add up to the time from that claim to the last
    # close, less only the claim's own work. Without the members' building and testing
    # counted, they fell 40% short.
    lstm = [t for t in trials(tmp_path) if t.user_attrs["label"].startswith("lstm")]
    claimed = min(t.datetime_start for t in lstm)
    closed = max(t.datetime_complete for t in lstm)
    span = (closed - claimed).total_seconds()
    counted = sum(t.user_attrs["run_seconds"] for t in lstm)
    assert 0.85 * span <= counted <= 1.01 * span  # measured 4.17 s of 4.22 (before: 2.47)
    again = run_cli(path, cwd=tmp_path, env=JAX)
    assert again.returncode == 0
    assert "nothing to train" in again.stdout
    assert set(finished_per_key(client).values()) == {1}


@pytest.mark.slow
def test_by_default_jax_on_a_cpu_trains_seeds_together_with_the_same_numbers(tmp_path, write_study):
    """The default execution (fast) trains a grid's seeds together on a JAX CPU worker with two
    cores or more, and separately on one core (SUITE_THREADS=1) or with early stopping; the
    curves of the two stores are equal number for number."""
    study = {
        **FAST,
        "training": {"epochs": 2, "batch_size": 32},
        "grid": {"cell": ["lstm"], "bidirectional": [False], "seed": [0, 1, 2]},
    }
    curves, tags = {}, {}
    for how, env, changes in (
        ("together", {**JAX, "SUITE_THREADS": "2"}, {}),
        ("one core", {**JAX, "SUITE_THREADS": "1"}, {}),
        ("early stopping", {**JAX, "SUITE_THREADS": "2"}, {"early_stopping": {"patience": 5}}),
    ):
        root = tmp_path / how.replace(" ", "-")
        root.mkdir()
        path = study_file(root, {**study, "training": {**study["training"], **changes}})
        result = run_cli(path, cwd=root, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        client = store_client(root)
        runs = {r.info.run_name: r for r in child_runs(client)}
        assert len(runs) == 3
        tags[how] = {
            (r.data.tags["exec.mode"], r.data.tags["exec.fused_members"]) for r in runs.values()
        }
        curves[how] = {
            name: [m.value for m in client.get_metric_history(r.info.run_id, "val_loss")]
            for name, r in runs.items()
        }
    assert tags == {
        "together": {("fused", "3")},
        "one core": {("fast", "1")},
        "early stopping": {("fast", "1")},
    }
    assert curves["together"] == curves["one core"]  # bit for bit
    assert len({c[-1] for c in curves["together"].values()}) == 3


# The tutorial's script (tests/helpers/plain_keras.py) on JAX, in a process without the
# suite's start (one JAX CPU device, TensorFlow imported as Keras pleases), for each seed given.
_PLAIN_KERAS_ON_JAX = """
import json, sys
import tests.helpers.plain_keras as plain
out = {}
for seed in map(int, sys.argv[1:]):
    arrays = plain.tutorial_arrays()
    model, history = plain.plain_fit("lstm", True, arrays, seed=seed)
    _, test_accuracy = model.evaluate(*arrays[4:], batch_size=plain.BATCH, verbose=0)
    curves = {k: [float(v) for v in vs] for k, vs in history.items()}
    out[seed] = {**curves, "test": float(test_accuracy)}
print(json.dumps(out))
"""

# The CLI in a fresh process, then whether TensorFlow was ever imported in it.
_CLI_THEN_SAY_IF_TENSORFLOW = """
import runpy, sys
sys.argv = ["suite.run", sys.argv[1]]
try:
    runpy.run_module("suite.run", run_name="__main__")
except SystemExit as exit:
    assert not exit.code, exit.code
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


def test_the_default_on_jax_equals_plain_keras_and_never_imports_tensorflow(tmp_path):
    """The suite's default on a JAX CPU worker with 2 cores (two seeds together, on two lanes)
    against the tutorial's plain Keras script on JAX, seed by seed: training curves and test
    accuracy bit for bit, validation loss within rtol 1e-6 (summed over one batch of 64, not
    two of 32: tests/training/test_parity.py's tolerance). And Keras on JAX is told TensorFlow is
    absent (keras_startup._keras_without_tensorflow): the whole study, bidirectional models
    logged, never imports it (about 2 s of every worker's start)."""
    from tests.helpers import plain_keras as tutorial

    seeds = (0, 1)
    plain = subprocess.run(
        [sys.executable, "-c", _PLAIN_KERAS_ON_JAX, *map(str, seeds)],
        cwd=ROOT,
        env={**os.environ, **JAX},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plain.returncode == 0, plain.stderr
    expected = json.loads(plain.stdout.splitlines()[-1])
    study = {
        "tracking": {"log_model": True, "log_plots": False, "system_metrics": False},
        "data": {
            "train_size": tutorial.TRAIN,
            "validation_size": tutorial.VAL,
            "test_size": tutorial.TEST,
        },
        "model": {"units": tutorial.UNITS, "layers": 2, "dropout": 0.2},
        "training": {
            "epochs": tutorial.EPOCHS,
            "batch_size": tutorial.BATCH,
            "learning_rate": 1e-3,
        },
        "grid": {"cell": ["lstm"], "bidirectional": [True], "seed": list(seeds)},
    }
    path = study_file(tmp_path, study)
    result = subprocess.run(
        [sys.executable, "-c", _CLI_THEN_SAY_IF_TENSORFLOW, str(path)],
        cwd=tmp_path,
        env={**os.environ, **JAX, "SUITE_THREADS": "2"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tensorflow imported: False" in result.stdout
    client = store_client(tmp_path)
    runs = {int(r.data.params["seed"]): r for r in child_runs(client)}
    assert sorted(runs) == list(seeds)
    for seed, run in runs.items():
        tags = run.data.tags
        assert (tags["exec.fused_members"], tags["exec.fused_lanes"]) == ("2", "2")
        assert run.info.status == "FINISHED" and run.outputs.model_outputs  # its model logged
        want = expected[str(seed)]
        got = {
            name: [m.value for m in client.get_metric_history(run.info.run_id, name)]
            for name in ("loss", "accuracy", "val_loss", "val_accuracy")
        }
        for name in ("loss", "accuracy", "val_accuracy"):
            assert got[name] == want[name], (seed, name)
        np.testing.assert_allclose(got["val_loss"], want["val_loss"], rtol=1e-6)
        assert run.data.metrics["test_accuracy"] == want["test"], seed


def _logged_model_accuracy(root, run_id: str) -> float:
    """Test accuracy of the model run `run_id` logged, loaded and scored in a fresh process on
    the tiny study's test split."""
    score = (
        "from suite.study.config import DataConfig; from suite.train.data import load_splits;"
        " s = load_splits(DataConfig(train_size=128, validation_size=64, test_size=64));"
        " print((m.predict(s.x_test, verbose=0).argmax(1) == s.y_test).mean())"
    )
    return float(with_logged_model(root, run_id, "jax", score)[-1])


# Long enough (about 10 s of training on 2 cores) for a signal to land inside the program.
LONG_FUSED = {
    **FUSED_STUDY,
    **FAST,
    "data": {"train_size": 256},
    "training": {"epochs": 600, "batch_size": 32, "execution": "fused"},
    "grid": {"cell": ["gru"], "bidirectional": [False], "seed": [0, 1, 2]},
}


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_seeds_cut_short_together_leave_no_run_and_train_again(tmp_path, write_study, how):
    """Until the program ends, MLflow holds nothing of its members: Ctrl-C fails their trials
    (exit 130), SIGKILL leaves them to the next invocation, which trains all three once."""
    path = write_study(LONG_FUSED)
    process = start_cli(path, cwd=tmp_path, env=JAX)
    deadline = time.monotonic() + 120
    while not (tmp_path / "mlruns" / "optuna.journal").exists() or not any(
        t.state == TrialState.RUNNING for t in trials(tmp_path)
    ):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    time.sleep(4)  # past the claims and the members' build: inside compiling or training
    assert process.poll() is None, "the program ended before the signal: make it longer"
    process.send_signal(how)
    _, stderr = process.communicate(timeout=60)
    client = store_client(tmp_path)
    assert child_runs(client) == []  # nothing recorded of a program cut short
    if how == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr
        # Not "marked KILLED in MLflow": MLflow holds nothing of them, as the CLI says.
        assert "KILLED" not in stderr, stderr
        members = "gru-uni-1L-s0, gru-uni-1L-s1, gru-uni-1L-s2"
        assert f"{members} (trained together) had nothing in MLflow" in stderr, stderr
        assert [t.state for t in trials(tmp_path)] == [TrialState.FAIL] * 3
    else:
        assert process.returncode == -signal.SIGKILL
    again = run_cli(path, cwd=tmp_path, env=JAX)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 runs, 0 done before, 3 to train" in again.stdout
    assert sorted(finished_per_key(client).values()) == [1, 1, 1]
    runs = child_runs(client)
    assert {r.data.tags["exec.fused_members"] for r in runs} == {"3"}
