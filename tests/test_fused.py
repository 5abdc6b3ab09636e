"""Seeds trained together (`training.execution: fused`, suite/train/fused.py): each member
equals its separate run (Keras's own `fit`) within stated tolerances, and each is recorded as
its own run, once, whatever trained it before."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import FAST, ROOT, child_runs, finished_per_key, run_cli, store_client

JAX = {"KERAS_BACKEND": "jax"}
# Stated tolerances (README, Performance): the training curves and the weights of a member
# are its separate run's but for the order of float32 sums in batched operations.
CURVE_RTOL = 1e-6  # losses and accuracies of every epoch, training and validation
WEIGHT_ATOL = 1e-6  # every weight after training (float32 values of order 0.1 to 1)
TEST_LOSS_RTOL = 1e-6


@pytest.mark.slow
def test_each_member_equals_its_separate_run_for_every_cell(tmp_path):
    out = tmp_path / "fused.json"
    subprocess.run(
        [sys.executable, "-m", "tests.fused_driver", str(out), "simple_rnn", "lstm", "gru"],
        cwd=ROOT,
        env={**os.environ, **JAX},
        check=True,
        timeout=600,
    )
    found = json.loads(out.read_text())
    assert set(found) == {"simple_rnn", "lstm", "gru"}
    for cell, results in found.items():
        separate, together = results["separate"], results["together"]
        assert len(separate) == len(together) == 3
        for alone, member in zip(separate, together, strict=True):
            where = f"{cell} {alone['name']}"
            assert member["name"] == alone["name"], where  # its own label, as logged
            for name, values in alone["history"].items():
                if name != "epoch_seconds":
                    np.testing.assert_allclose(
                        member["history"][name], values, rtol=CURVE_RTOL, err_msg=where
                    )
            assert member["test_loss"] == pytest.approx(alone["test_loss"], rel=TEST_LOSS_RTOL)
            assert member["test_accuracy"] == alone["test_accuracy"], where
            assert member["confusion"] == alone["confusion"], where
            assert member["best_epoch"] == alone["best_epoch"], where
            assert member["param_count"] == alone["param_count"], where
            for a, b in zip(alone["weights"], member["weights"], strict=True):
                np.testing.assert_allclose(b, a, rtol=0, atol=WEIGHT_ATOL, err_msg=where)
        # The members are not one model trained three times: seeds differ, so do results.
        losses = {round(m["history"]["loss"][-1], 6) for m in together}
        assert len(losses) == 3, cell


FUSED_STUDY = {
    **FAST,
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
    again = run_cli(path, cwd=tmp_path, env=JAX)
    assert again.returncode == 0
    assert "nothing to train" in again.stdout
    assert set(finished_per_key(client).values()) == {1}
