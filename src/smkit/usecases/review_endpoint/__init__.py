"""``review-endpoint``: a text review classifier behind an endpoint (the machine-learning part).

``scripts/`` is a SageMaker script-mode source dir: ``text_clean.py`` (cleaning, deduplication
and label mapping, pure Python/pandas), ``train.py`` (TF-IDF word + character n-grams with a
logistic regression, ``C`` tuned on the validation channel) and ``inference.py``
(``{"instances": [...]}`` in, ``{"predictions": [...]}`` probabilities out). The scripts never
import smkit, so the same dir runs in a SageMaker container.
"""
