"""The progress display as a terminal shows it: bars, epochs, the ETA from the time model."""

from __future__ import annotations

import io

from rich.console import Console

from suite.worker.outcomes import Fate
from suite.worker.progress import StudyProgress
from tests.conftest import make_spec


def screen(progress: StudyProgress, out: io.StringIO) -> str:
    progress.progress.refresh()
    return out.getvalue()


def test_a_terminal_shows_runs_epochs_and_the_estimated_time_left():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    first, second = (make_spec(cell="gru", epochs=2, seed=seed) for seed in (0, 1))
    with StudyProgress(console, study="s", total=2, done=0) as progress:
        progress.set_estimates(None)  # nothing finished yet: no model
        assert "runs 0/2" in screen(progress, out) and "eta ?" in out.getvalue()
        progress.set_estimates({first.run_key: 600.0, second.run_key: 1200.0})
        progress.run_started(first)
        assert "eta 30 min" in screen(progress, out)  # 10 + 20 minutes, the first just begun
        progress.epoch_ended(0, {"val_accuracy": 0.5})
        text = screen(progress, out)
        assert "epoch 1/2  val_accuracy 0.5000" in text and first.label in text
        progress.run_ended(first, Fate.TRAINED, "test_acc 0.9000")
        progress.set_done(1)
        progress.set_estimates({second.run_key: 1200.0})
        assert "runs 1/2" in screen(progress, out) and "eta 20 min" in out.getvalue()
    assert f"✓ {first.label}" in out.getvalue()
