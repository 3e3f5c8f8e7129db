"""Trainer scripts smkit ships for its built-in algorithms.

Each file here is a standalone training script following the SageMaker training-container
contract (it imports nothing from smkit), so the same file runs locally and, as a script-mode
entry point, in SageMaker's framework images:

- ``xgboost_algorithm.py``: SageMaker's built-in XGBoost algorithm (its hyperparameter names,
  label-first CSV or libsvm input, ``validation:<metric>`` lines as the algorithm logs them).
- ``autogluon_tabular.py``: AutoGluon tabular (label, problem type, eval metric, presets,
  time limit), saving the leaderboard and feature importance as job outputs.
"""
