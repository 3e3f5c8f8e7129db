"""Sentiment-lexicon features for ``review-endpoint`` (numpy + scikit-learn; never imports smkit).

`LexiconFeatures` turns each text into a few dense numbers from the VADER sentiment
lexicon (``sentiment_lexicon.tsv`` next to this file; Hutto & Gilbert 2014, MIT license, see
the file's header): the sum, positive sum, negative sum, mean, maximum and minimum of the
valences of the lexicon words, their count, the sum after the last "but" (the clause that
usually carries the verdict) and the number of ``!``. A word within three tokens after a
negation ("not", "never", "n't", ...) has its valence flipped and damped by 0.74, VADER's own
factor. The features are standardised on the training texts and scaled by ``weight`` so they
sit next to the TF-IDF columns in one linear model.

The lexicon is read once at ``fit`` and kept in the fitted object, so a pickled model needs
only this module, not the ``.tsv``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["FEATURE_NAMES", "LEXICON_FILE", "LexiconFeatures", "read_lexicon"]

LEXICON_FILE = Path(__file__).resolve().parent / "sentiment_lexicon.tsv"
FEATURE_NAMES = (
    "valence_sum",
    "valence_positive",
    "valence_negative",
    "valence_mean",
    "valence_max",
    "valence_min",
    "lexicon_words",
    "valence_after_but",
    "exclamations",
)
_NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "cannot",
        "without",
        "hardly",
        "barely",
        "isnt",
        "dont",
        "doesnt",
        "didnt",
        "wasnt",
        "werent",
        "arent",
        "cant",
        "wont",
        "aint",
        "shouldnt",
        "wouldnt",
        "couldnt",
    ]
)
_TOKEN = re.compile(r"[a-z']+|[:;=][-']?[()dp]|!")
_NEGATION_DAMPING = -0.74


def read_lexicon(path: str | Path = LEXICON_FILE) -> dict[str, float]:
    """``token -> mean valence`` from a ``token<TAB>valence`` file (``#`` lines are comments)."""
    lexicon: dict[str, float] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) >= 2 and parts[0]:
                lexicon[parts[0]] = float(parts[1])
    if not lexicon:
        raise ValueError(f"{path} holds no lexicon entries")
    return lexicon


def _negated(previous: list[str]) -> bool:
    for tok in previous:
        bare = tok.replace("'", "")
        if bare in _NEGATIONS or bare.endswith("nt"):
            return True
    return False


def raw_features(texts, lexicon: dict[str, float]) -> np.ndarray:
    """The unscaled ``(n, len(FEATURE_NAMES))`` matrix for ``texts``."""
    rows = []
    for text in texts:
        tokens = _TOKEN.findall(str(text).lower())
        values: list[float] = []
        after_but = 0.0
        seen_but = False
        for i, tok in enumerate(tokens):
            if tok == "but":
                seen_but, after_but = True, 0.0
            v = lexicon.get(tok)
            if v is None:
                continue
            if _negated(tokens[max(0, i - 3) : i]):
                v *= _NEGATION_DAMPING
            values.append(v)
            if seen_but:
                after_but += v
        a = np.asarray(values) if values else np.zeros(1)
        rows.append(
            [
                a.sum(),
                a[a > 0].sum(),
                a[a < 0].sum(),
                a.mean(),
                a.max(),
                a.min(),
                len(values),
                after_but,
                tokens.count("!"),
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))


class LexiconFeatures(BaseEstimator, TransformerMixin):
    """Standardised lexicon features times ``weight`` (a scikit-learn transformer).

    Args:
        weight: Scale of the standardised features relative to the TF-IDF columns.
        path: The lexicon file (default: the shipped ``sentiment_lexicon.tsv``).
    """

    def __init__(self, weight: float = 0.3, path: str | None = None) -> None:
        self.weight = weight
        self.path = path

    def fit(self, texts, y=None) -> LexiconFeatures:
        """Read the lexicon and the training texts' feature means and spreads."""
        self.lexicon_ = read_lexicon(self.path or LEXICON_FILE)
        x = raw_features(texts, self.lexicon_)
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, texts) -> np.ndarray:
        """``weight * (features - mean) / std`` for ``texts``."""
        x = raw_features(texts, self.lexicon_)
        return self.weight * (x - self.mean_) / self.scale_

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The names of the columns `transform` returns."""
        return np.asarray([f"lexicon__{n}" for n in FEATURE_NAMES], dtype=object)
