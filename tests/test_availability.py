"""Whether and how a model is served, decided from its card and the images' ALLOWED_TASKS."""

import pytest

from api_inference_community.hub.availability import decide
from api_inference_community.hub.cards import CardMetadata as Card

LIBRARIES = {"sentence_transformers": ["feature-extraction", "sentence-similarity"], "timm": ["image-classification"]}
ST, S = "sentence-transformers", "sentence_transformers"
FE, SS, IC = "feature-extraction", "sentence-similarity", "image-classification"
SERVED = "served by"

# id: (card, explicit task and library, (served, library, task), a part of the reason)
CASES = {
    "from the card, library name mapped to its folder": (Card(FE, ST), {}, (True, S, FE), SERVED),
    "library name case-insensitive": (Card(IC, "TIMM"), {}, (True, "timm", IC), SERVED),
    "explicit task overrides the card": (Card(FE, ST), {"task": SS}, (True, S, SS), SERVED),
    "explicit library overrides the card": (Card(IC, ST), {"library": "timm"}, (True, "timm", IC), SERVED),
    "explicit both, empty card": (Card(), {"task": IC, "library": "timm"}, (True, "timm", IC), SERVED),
    "inference false": (Card(FE, ST, inference=False), {}, (False, S, FE), "the model card sets `inference: false`"),
    "inference false wins over explicit": (
        Card(inference=False),
        {"task": IC, "library": "timm"},
        (False, "timm", IC),
        "`inference: false`",
    ),
    "task the library does not serve": (
        Card("text-classification", ST),
        {},
        (False, S, "text-classification"),
        f"library `{S}` does not serve task `text-classification` (it serves: {FE}, {SS}); "
        "such models get `inference: false`",
    ),
    "unknown task given explicitly": (Card(FE, ST), {"task": "nope"}, (False, S, "nope"), "does not serve task `nope`"),
    "no pipeline_tag": (
        Card(None, ST),
        {},
        (False, S, None),
        f"the model card has no `pipeline_tag`; give the task explicitly ({S} serves: {FE}, {SS})",
    ),
    "no library_name": (
        Card(FE, None),
        {},
        (False, None, FE),
        f"the model card has no `library_name`; give the library explicitly (known: {S}, timm)",
    ),
    "empty card": (Card(), {}, (False, None, None), "no `library_name`"),
    "unknown library in the card": (
        Card("text-classification", "spacy"),
        {},
        (False, "spacy", "text-classification"),
        f"unknown library `spacy`; known libraries: {S}, timm",
    ),
    "unknown library given explicitly": (Card(FE, ST), {"library": "flair"}, (False, "flair", FE), "`flair`"),
}


@pytest.mark.parametrize("card, explicit, expected, reason", CASES.values(), ids=CASES.keys())
def test_decide(card, explicit, expected, reason):
    decision = decide(card, LIBRARIES, **explicit)
    assert (decision.served, decision.library, decision.task) == expected
    assert reason in decision.reason


def test_no_library_at_all_says_none():
    decision = decide(Card(FE, ST), {})
    assert not decision.served and decision.reason.endswith("known libraries: none")
