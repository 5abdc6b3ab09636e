"""MLflow written and read: the tracker that writes a study's runs (tracker), what each run
holds (run_content), how a run ends, once (run_endings), the study's experiment and how to
browse it (study_experiment), the runs left RUNNING by a dead worker or a fault
(left_running), the finished runs that are the record of what is done (finished_runs), which
study run a recorded run is the result of (run_identity), the environment tags (environment),
a run's splits as MLflow dataset inputs (dataset_inputs), figures (figures), MLflow's Keras
callback for the per-epoch curves (epoch_callback), the system-metrics warnings held while a
run is tracked (held_warnings), and links into the UI (ui_links)."""
