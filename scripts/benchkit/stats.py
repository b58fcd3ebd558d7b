"""Percentiles and ratios of measured figures."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The `q`-th percentile of `values` (numpy's linear interpolation), None when empty."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def ratio(numerator: Optional[float], denominator: Optional[float]) -> Optional[float]:
    """numerator / denominator, None when either is missing or the denominator is zero."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator
