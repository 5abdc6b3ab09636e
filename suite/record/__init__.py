"""MLflow written and read: the tracker that writes a study's runs (tracker), the finished runs
that are the record of what is done (finished_runs), which study run a recorded run is the
result of (run_identity), the environment tags (environment), a run's splits as MLflow
dataset inputs (dataset_inputs), figures (figures), MLflow's Keras callback for the per-epoch
curves (epoch_callback), the system-metrics warnings held while a run is tracked
(held_warnings), and links into the UI (ui_links)."""
