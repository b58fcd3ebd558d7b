"""The fuzz tier: property tests of request validation in-process, and schemathesis against real servers.

Bounded and derandomized (the same examples on every run, so that CI is repeatable); for a longer,
random run by hand: `AIC_FUZZ_SCALE=20 AIC_FUZZ_RANDOM=1 pytest tests/fuzz` (`fuzz_strategies.fuzz_settings`).
Every module here is marked `fuzz`: only these tests with `pytest tests -m fuzz`, everything
else with `pytest tests -m "not fuzz"`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).resolve().parent
if str(FUZZ_DIR) not in sys.path:  # fuzz_strategies, shared by the modules of this folder
    sys.path.insert(0, str(FUZZ_DIR))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: property-based fuzzing of the request path (hypothesis, schemathesis)")
