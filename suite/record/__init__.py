"""MLflow written and read: the tracker that writes a study's runs (tracker), the finished runs
that are the record of what is done (finished_runs), which study run a recorded run is the
result of (run_identity), the environment tags (environment),
figures, the per-epoch callback and links into the UI."""
