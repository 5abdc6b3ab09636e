"""Where each store lives and whether it can be used, before anything is written: every store's
location and the files beside it, read from the strings that name them (locations), a local
SQLite file (sqlite), the Optuna storage (optuna_storage), a damaged journal (journal), the
checks (checks), the one lookup of a study's MLflow experiment (experiment), how long a
tracking server may keep the suite waiting (http_limits), and a store's writes kept whole under
Ctrl-C (uninterrupted)."""
