"""Which study run a recorded MLflow run is the result of: its run_key, read as it is today.

A run's `run_key` tag is the key it was trained under. Two kinds of recorded key need reading
before a worker or the report may trust it: a key that an earlier version gave the same
computation (`RunSpec.former_run_keys`), and a key whose run computed on another backend than
the key stands for (trained under KERAS_BACKEND before keys named the backend). The first is
the same result under its current key; the second is no result of this study at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from suite.study.run_spec import RunSpec


class RunIdentity:
    """Recorded keys to the study's current keys, from the study's specs (none: keys as-is)."""

    def __init__(self, specs: Iterable[RunSpec] = ()) -> None:
        self._current: dict[str, str] = {}
        self._backend: dict[str, str] = {}
        for spec in specs:
            self._backend[spec.run_key] = spec.keras_backend
            self._current.update({former: spec.run_key for former in spec.former_run_keys})

    def recorded_keys(self, run_key: str) -> list[str]:
        """Every key a result of `run_key` may be recorded under: itself, then its former keys."""
        return [run_key, *(old for old, new in self._current.items() if new == run_key)]

    def key_of(self, recorded_key: str, computed_on: str | None) -> str | None:
        """The current run_key of a run recorded under `recorded_key` whose Keras ran on
        `computed_on` (its env.backend tag; None when the run did not record it), or None when
        the run computed on another backend than that key stands for."""
        key = self._current.get(recorded_key, recorded_key)
        expected = self._backend.get(key)
        if expected is not None and computed_on is not None and computed_on != expected:
            return None
        return key
