"""One run trained: models, how Keras executes them, compiled models, seeds trained together, and
the same numbers as plain Keras."""
