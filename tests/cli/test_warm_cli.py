"""When the tests' CLI commands start warm (forked from tests/helpers/warm_cli.py's server) and when
they start fresh: a variable that the libraries' imports or the commands' start-up set alike
keeps a command warm; one that changes what they import or do starts it fresh."""

from __future__ import annotations

import subprocess

import mlflow
import pytest

from tests.conftest import mlflow_variables_kept, start_cli
from tests.helpers.warm_cli import WarmProcess

# What importing TensorFlow and the suite's start-up (stores/http_limits.py) set.
AS_STARTED = {"TF2_BEHAVIOR": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@pytest.mark.parametrize(
    ("env", "warm"),
    [
        ({}, True),
        (AS_STARTED, True),
        ({"MLFLOW_HTTP_REQUEST_TIMEOUT": "99"}, False),  # the user's own bound wins
        ({"KERAS_BACKEND": "jax"}, False),  # another backend is imported
    ],
    ids=["as-is", "as-set-at-start-up", "a-users-own-value", "another-backend"],
)
def test_a_command_starts_warm_only_where_a_fresh_one_would_do_the_same(tmp_path, env, warm):
    process = start_cli("nope.yaml", cwd=tmp_path, env=env)
    _, stderr = process.communicate(timeout=60)
    assert isinstance(process, WarmProcess) == warm
    assert process.returncode == 2 and "error: nope.yaml: no such file" in stderr


def test_mlflows_fluent_state_is_not_left_to_later_commands(tmp_path):
    """mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI into this process's environment;
    each test's fixture takes it back, so later tests' commands still start warm."""
    with mlflow_variables_kept():
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'x.db'}")
        inside = start_cli("nope.yaml", cwd=tmp_path)
        inside.communicate(timeout=60)
    after = start_cli("nope.yaml", cwd=tmp_path)
    after.communicate(timeout=60)
    assert isinstance(inside, subprocess.Popen) and isinstance(after, WarmProcess)
