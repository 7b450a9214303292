"""One background sampler for the whole app: GPUs through NVML, the engine's load and the app's
own, once a second into a bounded history. Every open page reads the history, so ten open tabs
cost the GPUs nothing more."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.hardware import GpuInfo, HardwareReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    at: float
    gpus: list[GpuInfo]
    engine: dict[str, Any] | None
    app: dict[str, int] = field(default_factory=dict)


class Sampler:
    def __init__(
        self,
        read_gpus: Callable[[], HardwareReport],
        read_engine: Callable[[], Awaitable[dict[str, Any] | None]],
        read_app: Callable[[], dict[str, int]],
        interval_s: float = 1.0,
        history_s: float = 3600,
    ) -> None:
        self._read_gpus = read_gpus
        self._read_engine = read_engine
        self._read_app = read_app
        self.interval_s = interval_s
        self._samples: deque[Sample] = deque(maxlen=max(1, int(history_s / interval_s)))
        self._task: asyncio.Task[None] | None = None
        self.gpu_error: str | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                self._samples.append(await self._sample())
            except Exception:  # a bad read must not end the charts
                log.exception("sampling failed")
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))

    async def _sample(self) -> Sample:
        report = await asyncio.to_thread(self._read_gpus)
        self.gpu_error = report.error if not report.gpus else None
        engine = await self._read_engine()
        return Sample(at=time.time(), gpus=list(report.gpus), engine=engine, app=self._read_app())

    def history(self, since_s: float | None = None) -> list[Sample]:
        samples = list(self._samples)
        if since_s is None:
            return samples
        cutoff = time.time() - since_s
        return [s for s in samples if s.at >= cutoff]

    def latest(self) -> Sample | None:
        return self._samples[-1] if self._samples else None
