"""How long a tracking server may keep the suite waiting: MLflow's HTTP retries, bounded.

MLflow retries a failed request 7 times with a backoff factor of 2 (about 4 minutes), each
attempt waiting up to 120 s for an answer, so a server that died mid-study left the CLI
silent for minutes. The suite's defaults (a user's own MLFLOW_HTTP_REQUEST_* settings win):
3 retries after the first attempt, backoff 1 (urllib3 waits 0, 2, 4 s, plus up to 1 s of
jitter each), 10 s per attempt. One request then gives up within 4 x 10 + 6 + 3 = 49 s
on a server that accepts and never answers, and within about 10 s on one that is gone: a
study whose server dies says so in one line within 60 s (README, "When a store fails").
"""

from __future__ import annotations

import os

LIMITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def bound_tracking_requests() -> None:
    """Set the limits in this process's environment (its workers inherit them), unless the
    user set their own; before MLflow makes its first request."""
    for name, value in LIMITS.items():
        os.environ.setdefault(name, value)
