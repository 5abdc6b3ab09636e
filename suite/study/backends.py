"""The backend as a study axis: which backends a grid names, which are installed, and which
runs a worker started on one backend may train.

Keras picks its backend once per process (KERAS_BACKEND, before the first import), so a
study that names several trains each run in a worker process started on the run's backend.
"""

from __future__ import annotations

import importlib.util
import typing
from typing import Literal

if typing.TYPE_CHECKING:
    from suite.study.config import Study
    from suite.study.run_spec import RunSpec

INSTALL = {  # each backend's module has the backend's name
    "tensorflow": "pip install tensorflow",
    "jax": "pip install jax",
    "torch": "pip install torch==2.13.0 (the CPU build; pip install -e '.[dev]' does)",
}


Backend = Literal["tensorflow", "jax", "torch"]
BACKENDS: tuple[str, ...] = typing.get_args(Backend)
DEFAULT_BACKEND = "tensorflow"  # Keras's own default, when KERAS_BACKEND is not set


def process_backend() -> str:
    """The backend Keras starts on in this process: KERAS_BACKEND, or Keras's default. Checked
    (`backend_problem`) before any study is expanded."""
    import os

    return os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND


def backend_problem() -> str | None:
    """Why this process's KERAS_BACKEND cannot run a study, or None."""
    if process_backend() in BACKENDS:
        return None
    return (
        f"KERAS_BACKEND={process_backend()!r} is not a backend the suite trains on; set it to one"
        f" of {', '.join(BACKENDS)}, or unset it (TensorFlow)"
    )


def study_backends(study: Study) -> list[str]:
    """The backends the study's grid names, in its order; [] when it names none."""
    return list(dict.fromkeys((study.grid or {}).get("backend", [])))


def missing_backends(study: Study) -> list[str]:
    """The study's backends that cannot be imported here, each with how to install it."""
    return [f"{b} ({INSTALL[b]})" for b in study_backends(study) if not _installed(b)]


def _installed(backend: str) -> bool:
    try:
        return importlib.util.find_spec(backend) is not None
    except (ImportError, ValueError):
        return False


def broken_backends(study: Study) -> list[str]:
    """The study's backends other than this process's that are installed but fail to import,
    each with the error's last line: their worker would die at start-up. Each is imported in
    a process of its own, all at once (a backend is imported once per process)."""
    import subprocess
    import sys

    others = [b for b in study_backends(study) if b != process_backend() and _installed(b)]
    imports = {
        backend: subprocess.Popen(
            [sys.executable, "-c", f"import {backend}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for backend in others
    }
    broken = []
    for backend, process in imports.items():
        _, stderr = process.communicate()
        if process.returncode != 0:
            last = (stderr.strip().splitlines() or ["no message"])[-1]
            broken.append(f"{backend} ({last})")
    return broken


def trains_here(spec: RunSpec, backend: str | None) -> bool:
    """Whether a worker whose Keras runs on `backend` may train `spec` (None: a parent that
    plans every run and trains none): only the runs that compute on it, so no run is ever
    recorded under another backend's run_key."""
    return backend is None or spec.keras_backend == backend
