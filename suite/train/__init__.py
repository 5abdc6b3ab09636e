"""One RunSpec trained, with no MLflow or Optuna: the data (data), the model (models), how Keras
executes it (execution), the fit itself (fit), the compiled model the seeds of a configuration
share (compiled), seeds of a configuration trained together as one JAX program (fused) and
shared out over JAX's CPU devices (lanes), and Keras started quietly, with what it found
(keras_startup). This machine's cores are suite.machine's."""
