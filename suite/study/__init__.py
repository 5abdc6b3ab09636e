"""What to train: the validated study (config), its file (file), its runs (grid), the backend
axis (backends), a model's size by arithmetic (model_size), and the data a study names, read
and prepared once per process (sequences). Pure: no Keras, no store."""
