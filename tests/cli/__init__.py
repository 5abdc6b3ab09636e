"""python -m suite.run as a user types it: runs end to end, messages, progress, estimates, the
warm CLI, and the UIs (MLflow's, optuna-dashboard) on what it recorded."""
