"""The Optuna study as the queue: the study on its storage, its trials by run_key and whether
their workers live (queue_storage); runs planned against the record and enqueued (planning);
claim and heartbeat (claims); close, and the exactly-once rules (run_queue); the grid point as
trial params (grid_params); who a worker is and whether it lives (worker_identity); a
search's space (search_space)."""
