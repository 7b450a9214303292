"""Routes to engines: the local one, or a pool of remote OpenAI-compatible replicas.

A remote pool sends each chat to the healthy replica with the fewest requests in flight,
takes a failing replica out for a cool-down, and lets the chat service retry a request that
failed before its first token on the next replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.client import EngineClient
from engine.process import Probe, probe_status

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Route:
    """One way to reach an engine; `replica` is None for the local engine."""

    client: EngineClient
    pool: ReplicaPool | None = None
    in_flight: int = 0
    healthy: bool = True
    cooldown_until: float = 0.0
    last_error: str | None = None

    @property
    def base_url(self) -> str:
        return self.client.base_url

    def available(self, now: float) -> bool:
        return self.healthy and now >= self.cooldown_until

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def in_service(self, probed: Probe) -> bool:
        """Up, or slow to answer while it streams our requests: llama.cpp answers probes only
        between requests, and a real failure shows up in those requests anyway."""
        return probed is Probe.UP or (probed is Probe.SLOW and self.in_flight > 0)

    def failed(self, reason: str) -> None:
        """The request failed before its first token: keep this replica out for a while."""
        self.last_error = reason
        if self.pool is not None:
            self.cooldown_until = time.monotonic() + self.pool.cooldown_s
            log.warning("replica %s cooling down: %s", self.base_url, reason)

    def snapshot(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "healthy": self.healthy,
            "in_flight": self.in_flight,
            "cooling_down_s": max(0.0, round(self.cooldown_until - time.monotonic(), 1)),
            "last_error": self.last_error,
        }


@dataclass(eq=False)
class ReplicaPool:
    base_urls: list[str]
    api_key: str
    request_timeout_s: float
    cooldown_s: float = 30.0
    check_interval_s: float = 5.0
    probe_timeout_s: float = 2.0
    tokenize_timeout_s: float = 5.0
    routes: list[Route] = field(default_factory=list)
    _checker: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.routes = [
            Route(EngineClient(url, self.api_key, self.request_timeout_s,
                               self.tokenize_timeout_s), pool=self)
            for url in self.base_urls
        ]

    async def check_all(self) -> int:
        """Probe every replica; returns how many are in service."""
        results = await asyncio.gather(
            *(probe_status(route.base_url, self.api_key, self.probe_timeout_s)
              for route in self.routes)
        )
        for route, result in zip(self.routes, results, strict=True):
            ok = route.in_service(result)
            if ok != route.healthy:
                log.info("replica %s is %s (%s)", route.base_url, "up" if ok else "down",
                         result.value)
            route.healthy = ok
            if result is Probe.UP:
                route.last_error = None
            elif not ok and route.last_error is None:
                route.last_error = f"/v1/models: {result.value}"
        return sum(route.healthy for route in self.routes)

    def start_checks(self) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(self.check_interval_s)
                await self.check_all()

        self._checker = asyncio.get_running_loop().create_task(loop())

    def candidates(self) -> list[Route]:
        """Healthy replicas, fewest requests in flight first; if none, all of them (best effort)."""
        now = time.monotonic()
        ready = [r for r in self.routes if r.available(now)]
        pool = ready or self.routes
        return sorted(pool, key=lambda r: (r.in_flight, self.routes.index(r)))

    @property
    def any_healthy(self) -> bool:
        return any(route.healthy for route in self.routes)

    async def close(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
        for route in self.routes:
            await route.client.close()
