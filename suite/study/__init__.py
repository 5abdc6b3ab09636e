"""What to train: the study (config), its sections (data_config, sections) and what they share
(bounds), one run and its run_key (run_spec), the keys a grid varies (grid_keys), the study
file (file: read by reading, checked by values, grid_checks, search_checks, said by problems),
its runs (grid), the backend axis (backends), a model's size by arithmetic (model_size), and
the data a study names, read, prepared and pinned once per process (sequences). Pure: no
Keras, no store."""
