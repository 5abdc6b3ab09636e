"""The comparison report: MLflow (+ Optuna) -> tidy tables -> statistics, plots -> one HTML page.

Reads the tracking store only, so it can be regenerated at any time; never imports Keras.
"""
