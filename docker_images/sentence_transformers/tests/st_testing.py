"""What the tests of this image share: the bundled model, the Hub id it is served as, sample texts."""

from __future__ import annotations

from pathlib import Path

IMAGE_DIR = Path(__file__).resolve().parents[1]  # the servers run from here (`app.main:app`)
REPO_ID = "sentence-transformers/all-MiniLM-L6-v2"
PROMPTS = {"query": "query: ", "passage": "passage: "}  # declared by the `prompt_model_dir` fixture's copy

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "Two men pushed carts through the woods.",
]
# single-token words: "cat" * n + "dog" * m tokenizes to exactly n + m tokens between [CLS] and [SEP]
LONG = " ".join(["cat"] * 300 + ["dog"] * 10)
HEAD = " ".join(["cat"] * 254)  # what the model reads of LONG, cut at the right (254 + 2 special = 256)
TAIL = " ".join(["cat"] * 244 + ["dog"] * 10)  # what it reads of LONG, cut at the left
