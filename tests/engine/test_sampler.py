"""The one shared sampler: GPU (through a fake NVML), engine and app readings into a bounded
history; failures do not stop it; readers never cause NVML reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from doubles.fake_nvml import GIB, FakeNvml, two_rtx_3090s

from engine.hardware import HardwareReport, read_hardware
from engine.sampler import Sample, Sampler

INTERVAL = 0.05
NO_GPU = HardwareReport(gpus=[], driver_version=None, error="NVIDIA driver not found")


class Reads:
    """The three readings the app gives the sampler: NVML (here a fake module with two RTX 3090s,
    or a report without GPUs), the engine's load and the app's own; counts the NVML reads."""

    def __init__(self, no_gpu: bool = False, fail_gpu_reads: int = 0) -> None:
        self.nvml = FakeNvml(two_rtx_3090s())
        self.no_gpu = no_gpu
        self.fail_gpu_reads = fail_gpu_reads
        self.gpu_reads = 0
        self.engine_reply: dict[str, Any] | None = {
            "requests_running": 2.0, "requests_waiting": 1.0, "kv_cache_usage": 0.25}

    def gpus(self) -> HardwareReport:
        self.gpu_reads += 1
        if self.gpu_reads <= self.fail_gpu_reads:
            raise RuntimeError("NVML hiccup")
        return NO_GPU if self.no_gpu else read_hardware(self.nvml)

    async def engine(self) -> dict[str, Any] | None:
        return None if self.engine_reply is None else {**self.engine_reply, "state": "ready"}

    def app(self) -> dict[str, int]:
        return {"active_streams": 1, "requests_last_minute": 7}

    def sampler(self, **kwargs: Any) -> Sampler:
        return Sampler(self.gpus, self.engine, self.app, **{"interval_s": INTERVAL, **kwargs})


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """A functional wait: generous, so a slow machine only makes it take longer."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_samples_hold_both_gpus_engine_load_and_app_load() -> None:
    reads = Reads()
    sampler = reads.sampler()
    await sampler.start()
    await wait_until(lambda: len(sampler.history()) >= 3)
    await sampler.stop()

    latest = sampler.latest()
    assert latest is not None
    assert [(g.index, g.name) for g in latest.gpus] == [(0, "NVIDIA GeForce RTX 3090"),
                                                        (1, "NVIDIA GeForce RTX 3090")]
    assert [g.utilization_percent for g in latest.gpus] == [7, 93]
    assert [g.memory_used_bytes for g in latest.gpus] == [int(1.5 * GIB), 2 * GIB]
    assert [g.memory_total_bytes for g in latest.gpus] == [24 * GIB, 24 * GIB]
    assert [g.temperature_c for g in latest.gpus] == [41, 70]
    assert [g.power_watts for g in latest.gpus] == [31.5, 301.25]
    assert latest.engine == {"requests_running": 2.0, "requests_waiting": 1.0,
                             "kv_cache_usage": 0.25, "state": "ready"}
    assert latest.app == {"active_streams": 1, "requests_last_minute": 7}
    assert sampler.gpu_error is None and sampler.last_error is None
    history = sampler.history()
    assert [s.at for s in history] == sorted(s.at for s in history)


async def test_history_keeps_history_s_over_interval_s_samples() -> None:
    reads = Reads()
    sampler = reads.sampler(history_s=0.3, interval_s=0.01)  # 0.3 / 0.01 = 30 samples
    await sampler.start()
    await wait_until(lambda: reads.gpu_reads >= 45)
    await sampler.stop()

    assert len(sampler.history()) == 30


def test_the_bound_is_not_cut_short_by_float_division() -> None:
    reads = Reads()
    assert 0.3 / 0.1 < 3
    sampler = reads.sampler(history_s=0.3, interval_s=0.1)
    for i in range(5):
        sampler._samples.append(Sample(at=float(i), gpus=[], engine=None))
    assert [s.at for s in sampler.history()] == [2.0, 3.0, 4.0]


async def test_history_since_s_keeps_only_recent_samples() -> None:
    now = [1000.0]
    reads = Reads()
    sampler = reads.sampler(clock=lambda: now[0])
    for _ in range(10):  # ten samples, one per (fake) second
        sampler._samples.append(await sampler.sample_once())
        now[0] += 1

    # the clock reads 1010 now; samples were taken at 1000..1009
    assert [s.at for s in sampler.history(since_s=3)] == [1007.0, 1008.0, 1009.0]
    assert len(sampler.history(since_s=60)) == 10
    assert len(sampler.history()) == 10
    assert sampler.history(since_s=0.5) == []


async def test_a_gpu_read_that_raises_once_does_not_stop_sampling() -> None:
    reads = Reads(fail_gpu_reads=1)
    sampler = reads.sampler()
    await sampler.start()
    await wait_until(lambda: len(sampler.history()) >= 3)
    await sampler.stop()

    first, *later = sampler.history()
    assert first.gpus == [] and first.app["requests_last_minute"] == 7  # the rest still sampled
    assert all(len(s.gpus) == 2 for s in later)
    assert sampler.gpu_error is None  # the GPUs are back
    assert sampler.last_error == "GPU read failed: RuntimeError: NVML hiccup"


async def test_an_engine_or_app_read_that_raises_keeps_the_other_readings() -> None:
    async def broken_engine() -> dict[str, Any] | None:
        raise ValueError("bad /metrics")

    def broken_app() -> dict[str, int]:
        raise KeyError("stats")

    reads = Reads()
    sampler = Sampler(reads.gpus, broken_engine, broken_app, interval_s=INTERVAL)
    sample = await sampler.sample_once()

    assert len(sample.gpus) == 2 and sample.engine is None and sample.app == {}
    assert sampler.last_error == "app read failed: KeyError: 'stats'"


async def test_stop_ends_the_task_and_no_reads_follow() -> None:
    reads = Reads()
    sampler = reads.sampler()
    await sampler.start()
    await wait_until(lambda: len(sampler.history()) >= 2)
    assert sampler.running

    await sampler.stop()
    assert not sampler.running
    reads_at_stop = reads.gpu_reads
    await asyncio.sleep(INTERVAL * 4)
    assert reads.gpu_reads == reads_at_stop
    await sampler.stop()  # stopping twice is harmless


async def test_starting_twice_runs_one_loop() -> None:
    reads = Reads()
    sampler = reads.sampler(interval_s=10)  # one sample at start, the next after 10 s
    await sampler.start()
    await sampler.start()
    await wait_until(lambda: len(sampler.history()) >= 1)
    await asyncio.sleep(0.2)
    await sampler.stop()

    assert reads.gpu_reads == 1


async def test_without_a_gpu_samples_have_no_gpus_and_say_why() -> None:
    reads = Reads(no_gpu=True)
    sampler = reads.sampler()
    await sampler.start()
    await wait_until(lambda: len(sampler.history()) >= 2)
    await sampler.stop()

    assert all(s.gpus == [] for s in sampler.history())
    latest = sampler.latest()
    assert latest is not None and latest.app["requests_last_minute"] == 7
    assert latest.engine is not None and latest.engine["state"] == "ready"
    assert sampler.gpu_error == "NVIDIA driver not found"


async def test_without_engine_metrics_samples_have_state_only() -> None:
    reads = Reads()
    reads.engine_reply = None  # llama.cpp: no /metrics
    sample = await reads.sampler().sample_once()
    assert sample.engine is None


async def test_many_concurrent_readers_cause_no_extra_nvml_reads() -> None:
    reads = Reads()
    sampler = reads.sampler()
    served = 0

    async def page() -> None:  # one open browser tab reading the charts as fast as it can
        nonlocal served
        while len(sampler.history()) < 5:
            sampler.history(since_s=300)
            sampler.latest()
            served += 1
            await asyncio.sleep(0)

    await sampler.start()
    await asyncio.gather(*(page() for _ in range(50)))
    await sampler.stop()

    ticks = len(sampler.history())
    assert served >= 50 * 2  # every page read more than once while the sampler ran
    # one NVML read per sampler tick (plus at most one cut off by stop), whatever the readers did
    assert ticks <= reads.gpu_reads <= ticks + 1


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        Reads().sampler(interval_s=0)
