"""``bike-demand``: Kaggle "Bike Sharing Demand" with AutoGluon (the machine-learning part).

``scripts/`` is a SageMaker script-mode source dir: ``train.py`` (AutoGluon by default, LightGBM
with ``--trainer lightgbm``), ``inference.py`` (inference-toolkit hooks), ``features.py``
(datetime feature engineering and the time-based validation split, pure pandas) and
``submission.py`` (Kaggle's ``datetime,count`` file). The scripts never import smkit, so the
same dir runs in a SageMaker container.
"""
