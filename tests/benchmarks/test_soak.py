"""200 streams through the app for 5 minutes: no error, and resident memory that stops growing.
Slow (a benchmark): run by hand with `pytest -m slow tests/benchmarks/test_soak.py`."""

from __future__ import annotations

import argparse
import asyncio

import pytest

from benchmarks.report import SOAK_GROWTH_BOUND_MB
from benchmarks.soak import soak


@pytest.mark.slow
def test_two_hundred_streams_for_five_minutes_fail_none_and_hold_memory() -> None:
    args = argparse.Namespace(streams=200, duration=300.0, tokens_per_s=20.0, output_tokens=128,
                              sample_every=5.0, no_progress=True, logs=None)
    result = asyncio.run(soak(args))
    assert result.requests > 2000
    assert result.errors == 0, result.error_kinds
    assert result.growth_mb < SOAK_GROWTH_BOUND_MB, result.rss_mb
