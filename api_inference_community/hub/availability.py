"""Whether a model can be served, by which library image and for which task.

Decided from the model card (`pipeline_tag`, `library_name`, `inference`), unless the task or
the library is given explicitly, against the tasks each image declares in ALLOWED_TASKS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

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
