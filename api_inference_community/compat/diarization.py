"""Speaker diarization outputs: a frames × speakers activity matrix as labelled time segments."""

from __future__ import annotations

import itertools
from typing import Any, Dict, List, Sequence, Union

Classes = Dict[str, Union[str, float]]


def speaker_diarization_normalize(tensor: Any, sampling_rate: int, classnames: Sequence[str]) -> List[Classes]:
    """One `{"class", "start", "end"}` (seconds) per run of active frames (value 1), sorted by start.

    `tensor` is `(frames, speakers)`: a torch tensor or a numpy array; `classnames` names each
    speaker column. `sampling_rate` is frames per second.
    """
    speakers = tensor.shape[1]
    if len(classnames) != speakers:
        raise ValueError(
            f"There is a mismatch between classnames ({len(classnames)}) and number of speakers ({speakers})"
        )
    segments: List[Classes] = []
    for column, name in enumerate(classnames):
        start = 0
        for value, run in itertools.groupby(tensor[:, column].tolist()):
            length = sum(1 for _ in run)
            if value == 1:
                end = start + length
                segments.append({"class": name, "start": start / sampling_rate, "end": end / sampling_rate})
            start += length
    return sorted(segments, key=lambda segment: segment["start"])
