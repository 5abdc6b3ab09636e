"""What to train: the study (config), its sections (data_config, sections) and what they share
(bounds), one run and its run_key (run_spec), the keys a grid varies (grid_keys), the study
file (file: read by reading, checked by values, grid_checks, search_checks, said by messages),
its runs (grid), the backend axis (backends), sizes (model_size), data pinned (sequences).
Pure: no Keras, no store."""
