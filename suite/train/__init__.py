"""One RunSpec trained, with no MLflow or Optuna: the data (data), the model (models), how Keras
executes it (execution), the fit itself (fit), and Keras started quietly (keras_startup)."""
