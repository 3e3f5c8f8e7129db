"""Small datasets shipped inside the package (with their attribution), so nothing is
downloaded at run time.

- ``bike_sharing``: Kaggle "Bike Sharing Demand" (train.csv, test.csv), derived from the UCI
  Bike Sharing Dataset, CC BY 4.0 (Fanaee-T and Gama, 2013); see ``bike_sharing/README.md``.
- ``amazon_review_snippets``: 2,985 sentences of real Amazon reviews with human sentiment
  ratings, from the vaderSentiment 3.3.2 source distribution, MIT (Hutto and Gilbert, 2014);
  see ``amazon_review_snippets/README.md``.
- ``reviews``: a synthetic clothing-review sample (``reviews/README.md``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["dataset_path", "list_datasets"]


def list_datasets() -> list[str]:
    """Names of the shipped datasets."""
    root = resources.files(__name__)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))


def dataset_path(name: str, filename: str) -> Path:
    """Path of a shipped file, e.g. ``dataset_path("bike_sharing", "train.csv.gz")``."""
    from smkit.errors import SourceNotFoundError

    path = Path(str(resources.files(__name__).joinpath(name, filename)))
    if not path.is_file():
        raise SourceNotFoundError(f"no shipped dataset file {name}/{filename}")
    return path
