"""Whether a model can be served, by which library image and for which task.

Decided from the model card (`pipeline_tag`, `library_name`, `inference`), unless the task or
the library is given explicitly, against the tasks each image declares in ALLOWED_TASKS.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from ..errors import ModelTurnedOff, NotServed
from .cards import CardMetadata
from .libraries import folder_name


@dataclass(frozen=True)
class Decision:
    """The answer: served or not, by which library for which task, and why."""

    served: bool
    library: Optional[str]
    task: Optional[str]
    reason: str


def decide(
    metadata: CardMetadata,
    libraries: Mapping[str, Iterable[str]],
    task: Optional[str] = None,
    library: Optional[str] = None,
) -> Decision:
    """Decide how `metadata`'s model is served; `task` and `library` override the card's."""
    known = ", ".join(sorted(libraries)) or "none"
    library_name = library or metadata.library_name
    chosen = folder_name(library_name) if library_name else None
    task = task or metadata.pipeline_tag
    if not metadata.inference:
        return Decision(False, chosen, task, "the model card sets `inference: false`")
    if chosen is None:
        reason = f"the model card has no `library_name`; give the library explicitly (known: {known})"
        return Decision(False, None, task, reason)
    if chosen not in libraries:
        return Decision(False, chosen, task, f"unknown library `{library_name}`; known libraries: {known}")
    supported = sorted(libraries[chosen])
    if not task:
        reason = (
            f"the model card has no `pipeline_tag`; give the task explicitly ({chosen} serves: {', '.join(supported)})"
        )
        return Decision(False, chosen, None, reason)
    if task not in supported:
        reason = (
            f"library `{chosen}` does not serve task `{task}` (it serves: {', '.join(supported) or 'none'}); "
            "such models get `inference: false`"
        )
        return Decision(False, chosen, task, reason)
    return Decision(True, chosen, task, f"served by `{chosen}` for `{task}`")


def serving_decision(
    card: CardMetadata,
    model_id: str,
    libraries: Mapping[str, Iterable[str]],
    task: Optional[str] = None,
    default_library: Optional[str] = None,
) -> Decision:
    """`decide`, for a request: the decision when the model is served, else the API error naming why.

    `default_library`: the library of a card that names none (a library container's own).
    Raises ModelTurnedOff (403) for `inference: false`, NotServed (400) for any other refusal.
    """
    if not card.library_name and default_library:
        card = dataclasses.replace(card, library_name=default_library)
    decision = decide(card, libraries, task=task)
    if not decision.served:
        error = NotServed if card.inference else ModelTurnedOff
        raise error(f"Model {model_id} cannot be served: {decision.reason}")
    return decision
