"""Request traces for the model-cache benchmarks: Zipf-distributed popularity, with a scan of one-off models.

A trace is a list of model ids, one per request, in order. It is seeded, so that the same command
gives the same trace (and the simulated policies see exactly what the live server saw).
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, List, Sequence

import numpy as np


def zipf_weights(count: int, s: float) -> np.ndarray:
    """Popularity of ranks 1..count under Zipf's law with exponent `s`, summing to 1."""
    weights = 1.0 / np.arange(1, count + 1, dtype=float) ** s
    return weights / weights.sum()


def zipf_trace(
    population: Sequence[str],
    requests: int,
    s: float,
    seed: int = 0,
    scan: Sequence[str] = (),
    scan_at: float = 0.5,
) -> List[str]:
    """`requests` draws from `population` with Zipf(`s`) popularity, the ranks given to the models in a
    seeded random order; then `scan` (each model once, one after another) inserted at `scan_at` of the way."""
    if not population:
        raise ValueError("the trace needs at least one model")
    rng = np.random.default_rng(seed)
    ranked = [population[i] for i in rng.permutation(len(population))]  # rank 1 first
    draws = rng.choice(len(ranked), size=requests, p=zipf_weights(len(ranked), s))
    trace = [ranked[i] for i in draws]
    cut = int(len(trace) * scan_at)
    return trace[:cut] + list(scan) + trace[cut:]


def popularity(trace: Sequence[str]) -> List[str]:
    """The models of `trace`, the most requested first (ties in order of first request)."""
    counts = Counter(trace)
    first = {model: index for index, model in reversed(list(enumerate(trace)))}
    return sorted(counts, key=lambda model: (-counts[model], first[model]))


def describe_trace(trace: Sequence[str], scan: Sequence[str]) -> Dict[str, object]:
    """Requests, distinct models, the share of the most popular model and of the top 8, the scan."""
    counts = Counter(trace)
    top = [n for _, n in counts.most_common()]
    return {
        "requests": len(trace),
        "distinct_models": len(counts),
        "top1_share": top[0] / len(trace) if top else 0.0,
        "top8_share": sum(top[:8]) / len(trace) if top else 0.0,
        "scan_models": len(scan),
    }
