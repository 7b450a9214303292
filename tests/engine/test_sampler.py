"""The one shared sampler: GPU, engine and app readings into a bounded history."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.hardware import GpuInfo, HardwareReport
from engine.sampler import Sampler

GIB = 1024**3


def two_gpus() -> HardwareReport:
    gpus = [GpuInfo(index=i, name="NVIDIA GeForce RTX 3090", memory_total_bytes=24 * GIB,
                    memory_used_bytes=(2 + i) * GIB, memory_free_bytes=(22 - i) * GIB,
                    utilization_percent=40 + i, temperature_c=50, power_watts=120.0)
            for i in range(2)]
    return HardwareReport(gpus=gpus, driver_version="555.42")


class Reads:
    def __init__(self, report: HardwareReport, fail_first: bool = False) -> None:
        self.report = report
        self.calls = 0
        self.fail_first = fail_first

    def gpus(self) -> HardwareReport:
        self.calls += 1
        if self.fail_first and self.calls == 1:
            raise RuntimeError("NVML hiccup")
        return self.report

    async def engine(self) -> dict[str, Any]:
        return {"requests_running": 2.0, "state": "ready"}

    def app(self) -> dict[str, int]:
        return {"active_streams": 1, "requests_last_minute": 7}


async def run_for(sampler: Sampler, seconds: float) -> None:
    await sampler.start()
    await asyncio.sleep(seconds)
    await sampler.stop()


async def test_samples_hold_gpu_engine_and_app_readings() -> None:
    reads = Reads(two_gpus())
    sampler = Sampler(reads.gpus, reads.engine, reads.app, interval_s=0.02)
    await run_for(sampler, 0.2)
    latest = sampler.latest()
    assert latest is not None
    assert [g.utilization_percent for g in latest.gpus] == [40, 41]
    assert latest.engine == {"requests_running": 2.0, "state": "ready"}
    assert latest.app == {"active_streams": 1, "requests_last_minute": 7}
    assert sampler.gpu_error is None


async def test_history_is_bounded_and_readers_cost_no_reads() -> None:
    reads = Reads(two_gpus())
    sampler = Sampler(reads.gpus, reads.engine, reads.app, interval_s=0.01, history_s=0.05)
    await run_for(sampler, 0.3)
    assert len(sampler.history()) == 5
    calls = reads.calls
    for _ in range(100):  # a hundred open pages reading the charts
        sampler.history(since_s=60)
    assert reads.calls == calls


async def test_a_failing_read_does_not_stop_sampling() -> None:
    reads = Reads(two_gpus(), fail_first=True)
    sampler = Sampler(reads.gpus, reads.engine, reads.app, interval_s=0.02)
    await run_for(sampler, 0.2)
    assert reads.calls >= 3 and sampler.history()


async def test_without_a_gpu_samples_say_why() -> None:
    reads = Reads(HardwareReport(gpus=[], error="NVIDIA driver not found"))
    sampler = Sampler(reads.gpus, reads.engine, reads.app, interval_s=0.02)
    await run_for(sampler, 0.1)
    latest = sampler.latest()
    assert latest is not None and latest.gpus == [] and latest.app["requests_last_minute"] == 7
    assert sampler.gpu_error == "NVIDIA driver not found"


async def test_the_sampler_reads_gpus_through_nvml() -> None:
    from doubles.fake_nvml import FakeNvml, two_rtx_3090s

    from engine.hardware import read_hardware

    nvml = FakeNvml(two_rtx_3090s())
    reads = Reads(HardwareReport(gpus=[]))
    sampler = Sampler(lambda: read_hardware(nvml), reads.engine, reads.app, interval_s=0.02)
    await run_for(sampler, 0.15)
    latest = sampler.latest()
    assert latest is not None and [g.name for g in latest.gpus] == ["NVIDIA GeForce RTX 3090"] * 2
    assert all(g.memory_total_bytes > 0 and g.utilization_percent is not None for g in latest.gpus)
