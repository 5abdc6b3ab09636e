"""The Optuna study as the queue: enqueue, claim, heartbeat, close (run_queue); who a worker is
and whether it lives (worker_identity); a search's space (search_space)."""
