"""The environment a run trained in: versions, backend, device, host and git commit, logged as
the run's `env.*` tags so a result can be reproduced."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys

from suite.train.keras_startup import start_backend


def environment() -> dict[str, str]:
    """Versions, backend, device and git commit: the tags that make a run reproducible."""
    import keras
    import mlflow
    import optuna

    backend = keras.backend.backend()
    backend_module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    env = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": _module_version(backend_module),
        "mlflow": mlflow.__version__,
        "optuna": optuna.__version__,
        "device": start_backend(),
        "host": host_name(),
    }
    commit = git_commit()
    if commit:
        env["git_commit"] = commit
    return env


def host_name() -> str:
    """This machine's name in worker records and tags; SUITE_HOST overrides it where hostnames
    repeat (containers, job arrays) and in tests that play several machines on one."""
    return os.environ.get("SUITE_HOST") or platform.node()


def _module_version(name: str | None) -> str:
    if name is None:
        return "unknown"
    module = sys.modules.get(name) or __import__(name)
    return str(getattr(module, "__version__", "unknown"))


@functools.cache
def git_commit() -> str | None:
    """The commit of the working directory's repository, '+dirty' when it has changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if dirty else commit
