"""Write ``reviews_sample.csv``: a small *synthetic* clothing-review sample (deterministic).

The columns follow Kaggle's "Women's E-Commerce Clothing Reviews" file (an unnamed row-index
column, ``Clothing ID``, ``Age``, ``Title``, ``Review Text``, ``Rating``, ``Recommended IND``,
``Positive Feedback Count``, ``Division Name``, ``Department Name``, ``Class Name``). Every text
is composed here from phrase pools; no real review is copied. The mess of real review text is
reproduced on purpose: HTML entities (``&amp;``, ``&#39;``, ``&quot;``), quotes, multi-line cells,
empty and whitespace-only texts, exact and near duplicates, mixed-sentiment reviews and some
label noise (so a good model scores well below a perfect AUC).

Run ``python make_sample.py`` in this folder to regenerate the file byte for byte; ``--rows``
and ``--seed`` make other samples.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = [
    "",
    "Clothing ID",
    "Age",
    "Title",
    "Review Text",
    "Rating",
    "Recommended IND",
    "Positive Feedback Count",
    "Division Name",
    "Department Name",
    "Class Name",
]

CLASSES = [
    ("General", "Tops", "Knits"),
    ("General", "Tops", "Blouses"),
    ("General", "Dresses", "Dresses"),
    ("General Petite", "Bottoms", "Pants"),
    ("General Petite", "Bottoms", "Jeans"),
    ("General", "Jackets", "Outerwear"),
    ("Initmates", "Intimate", "Sleep"),
    ("General", "Bottoms", "Skirts"),
]
ITEMS = {
    "Knits": ["sweater", "cardigan", "knit top", "tee"],
    "Blouses": ["blouse", "button-down", "tunic"],
    "Dresses": ["dress", "maxi dress", "slip dress", "shirt dress"],
    "Pants": ["pants", "trousers", "culottes"],
    "Jeans": ["jeans", "skinny jeans", "boyfriend jeans"],
    "Outerwear": ["jacket", "coat", "vest"],
    "Sleep": ["pajama set", "robe", "sleep shirt"],
    "Skirts": ["skirt", "midi skirt", "pencil skirt"],
}
POSITIVE = [
    "I love this {item}!",
    "The fabric is soft and the color is even prettier in person.",
    "Fits true to size & drapes beautifully.",
    "I've gotten so many compliments on it.",
    "Super comfortable, I wore it all day.",
    "The quality is excellent for the price.",
    "Flattering cut, hides all the right places.",
    "Runs a little long but I'm 5'2\" and it still works with heels.",
    "Perfect for work and for weekends.",
    "Washes well, no shrinking at all.",
    "I bought it in two colors, that's how much I like it.",
    "The details (buttons, stitching) are lovely.",
    "Great layering piece for fall.",
    "So cute with boots!",
]
NEGATIVE = [
    "Unfortunately the {item} runs huge.",
    "The material is thin and see-through.",
    "It looked nothing like the picture.",
    "Very poor quality, a seam came apart after one wash.",
    "The fit was boxy and unflattering on me.",
    "Way too short in the torso.",
    'The color was dull, more "mud" than "olive".',
    "Itchy fabric, I couldn't keep it on.",
    "It's going back.",
    "Sadly it pilled after two wears.",
    "Strange proportions: tight arms, tent-like body.",
    "Overpriced for what you get.",
    "The zipper broke the first time I wore it.",
    "Too tight across the chest & hips.",
]
NEUTRAL = [
    "I ordered my usual size.",
    "I'm 5'6\" and 135 lbs for reference.",
    "Bought it on sale.",
    "It came in a nice box.",
    "I usually wear a medium in this brand.",
    "Ordered online after seeing it in the store.",
    "The model in the photo is wearing a small.",
]
POS_TITLES = ["Love it", "Beautiful!", "Perfect {item}", "Great buy", "So flattering", "Must have"]
NEG_TITLES = ["Disappointed", "Returned", "Not for me", "Poor quality", "Huge", "Meh"]
MIXED_TITLES = ["Almost", "Cute but...", "Wanted to love it", "Mixed feelings", ""]
ENTITIES = [("&", "&amp;"), ("'", "&#39;"), ('"', "&quot;"), ("...", "&hellip;")]


def _entities(text: str, rng: random.Random) -> str:
    """Escape some characters as HTML entities, the way scraped reviews arrive."""
    for raw, entity in ENTITIES:
        if raw in text and rng.random() < 0.5:
            text = text.replace(raw, entity)
    return text


def _review(rng: random.Random, item: str) -> tuple[str, str, int, int]:
    """One review: ``(title, text, rating, recommended)``."""
    kind = rng.choices(["pos", "neg", "mixed"], weights=[0.6, 0.22, 0.18])[0]
    if kind == "pos":
        parts = rng.sample(POSITIVE, rng.randint(2, 4))
        title = rng.choice(POS_TITLES)
        rating = rng.choices([5, 4, 3], weights=[0.65, 0.3, 0.05])[0]
        recommended = 1
    elif kind == "neg":
        parts = rng.sample(NEGATIVE, rng.randint(2, 4))
        title = rng.choice(NEG_TITLES)
        rating = rng.choices([1, 2, 3], weights=[0.35, 0.45, 0.2])[0]
        recommended = 0
    else:
        good = rng.sample(POSITIVE, rng.randint(1, 2))
        bad = rng.sample(NEGATIVE, rng.randint(1, 2))
        lean = rng.random()
        parts = [*good, "But", *bad] if lean < 0.5 else [*bad, "That said,", *good]
        title = rng.choice(MIXED_TITLES)
        rating = rng.choice([2, 3, 3, 4])
        recommended = int(lean >= 0.5) if rng.random() < 0.8 else int(lean < 0.5)
    if rng.random() < 0.5:
        parts.insert(rng.randint(0, len(parts)), rng.choice(NEUTRAL))
    if rng.random() < 0.06:  # label noise: people click the other button
        recommended = 1 - recommended
    sentences = [p.format(item=item) for p in parts]
    text = " ".join(sentences)
    if rng.random() < 0.15:  # a multi-line cell
        cut = rng.randint(1, max(1, len(sentences) - 1))
        text = " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    if rng.random() < 0.1:  # stray whitespace
        text = "  " + text.replace(" ", "  ", 1) + " \t"
    text = _entities(text, rng)
    return title.format(item=item), text, rating, recommended


def generate(rows: int = 600, seed: int = 7) -> list[list[str]]:
    """Build the sample's rows (without the header)."""
    rng = random.Random(seed)
    out: list[list[str]] = []
    for i in range(rows):
        division, department, cls = rng.choice(CLASSES)
        item = rng.choice(ITEMS[cls])
        title, text, rating, recommended = _review(rng, item)
        roll = rng.random()
        if roll < 0.03:
            text = ""  # an empty review (rating only)
        elif roll < 0.045:
            text = "   \n "
        age = rng.randint(19, 78)
        feedback = min(int(rng.expovariate(0.4)), 60)
        row = [
            str(i),
            str(rng.randint(800, 1200)),
            str(age),
            title,
            text,
            str(rating),
            str(recommended),
            str(feedback),
            division,
            department,
            cls,
        ]
        out.append(row)
        if rng.random() < 0.04 and text.strip():  # a duplicate submission
            dup = list(row)
            dup[0] = ""  # filled below
            if rng.random() < 0.5:
                dup[4] = "  " + text.replace("&amp;", "&") + "  "  # the same text, re-encoded
            out.append(dup)
    for i, row in enumerate(out):
        row[0] = str(i)
    return out


def write(path: Path, rows: int = 600, seed: int = 7) -> Path:
    """Write the sample CSV (RFC 4180 quoting, ``\\n`` line ends)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(generate(rows, seed))
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python make_sample.py [--rows N] [--seed S] [--out PATH]``."""
    parser = argparse.ArgumentParser(description="Write the synthetic review sample CSV.")
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "reviews_sample.csv")
    args = parser.parse_args(argv)
    print(write(args.out, args.rows, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
