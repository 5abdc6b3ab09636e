"""What to train: the validated study (config), its file (file), its runs (grid), the backend
axis (backends). Pure: no Keras, no store."""
