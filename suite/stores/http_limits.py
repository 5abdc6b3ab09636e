"""How long a tracking server may keep the suite waiting: MLflow's HTTP retries, bounded.

MLflow's own defaults retry a failed request for minutes, so a server that died mid-study
would leave the CLI silent that long. The suite sets fewer retries, a shorter backoff and a
shorter wait per attempt, so that a dead server is one line within a minute; a user's own
MLFLOW_HTTP_REQUEST_* settings win. The bound these values give is worked out in
docs/explanation/record-and-queue.md ("A store lost mid-study").
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
