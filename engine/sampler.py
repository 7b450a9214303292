"""One background sampler for the whole app: GPUs through NVML, the engine's load and the app's
own, once a second into a bounded history. Every open page reads the history, so ten open tabs
cost the GPUs nothing more.

Each reading is taken on its own: a GPU read that raises gives a sample without GPUs, an engine
read that raises gives `engine=None`, an app read that raises gives `app={}`; the loop goes on
and `last_error` keeps what went wrong (logged once per distinct error, not once a second)."""

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
    at: float  # epoch seconds
    gpus: list[GpuInfo]  # index, name, utilization_percent, memory_*_bytes, temperature_c, power_watts
    engine: dict[str, Any] | None  # requests_running, requests_waiting, kv_cache_usage, state
    app: dict[str, int] = field(default_factory=dict)  # active_streams, requests_last_minute


class Sampler:
    def __init__(
        self,
        read_gpus: Callable[[], HardwareReport],
        read_engine: Callable[[], Awaitable[dict[str, Any] | None]],
        read_app: Callable[[], dict[str, int]],
        interval_s: float = 1.0,
        history_s: float = 3600,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._read_gpus = read_gpus
        self._read_engine = read_engine
        self._read_app = read_app
        self._clock = clock
        self.interval_s = interval_s
        # round, not int: 0.3 / 0.1 is 2.9999999999999996
        self._samples: deque[Sample] = deque(maxlen=max(1, round(history_s / interval_s)))
        self._task: asyncio.Task[None] | None = None
        self.gpu_error: str | None = None  # why the latest sample has no GPUs
        self.last_error: str | None = None  # the latest failed read, kept after later successes

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sampler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                self._samples.append(await self.sample_once())
            except Exception as exc:  # belt and braces: sample_once already isolates each read
                self._failed("sampling", exc)
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))

    async def sample_once(self) -> Sample:
        """Take one sample now (the loop calls this once per interval)."""
        try:
            report = await asyncio.to_thread(self._read_gpus)
        except Exception as exc:
            report = HardwareReport(gpus=[], error=self._failed("GPU read", exc))
        self.gpu_error = None if report.gpus else (report.error or "no GPU found")
        try:
            engine = await self._read_engine()
        except Exception as exc:
            self._failed("engine read", exc)
            engine = None
        try:
            app = dict(self._read_app())
        except Exception as exc:
            self._failed("app read", exc)
            app = {}
        return Sample(at=self._clock(), gpus=list(report.gpus), engine=engine, app=app)

    def _failed(self, what: str, exc: Exception) -> str:
        message = f"{what} failed: {type(exc).__name__}: {exc}"
        if message != self.last_error:
            log.warning("sampler: %s", message, exc_info=exc)
        self.last_error = message
        return message

    def history(self, since_s: float | None = None) -> list[Sample]:
        """The samples of the last `since_s` seconds (all kept samples when None), oldest first."""
        samples = list(self._samples)
        if since_s is None:
            return samples
        cutoff = self._clock() - since_s
        return [s for s in samples if s.at >= cutoff]

    def latest(self) -> Sample | None:
        return self._samples[-1] if self._samples else None
