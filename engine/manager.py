"""The engine manager: which profile is served, and the state machine around it.

stopped -> starting -> ready (ready means one token was generated); an external engine that
does not answer yet is waited for (waiting -> ready); ready -> draining -> switching -> ready
(or rolled back). An engine that dies goes failed and is restarted with backoff, until it has
failed more than ENGINE_RESTART_ATTEMPTS times within ENGINE_RESTART_WINDOW_S: then it stays
failed, with the reason, until an admin restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx

from engine.client import EngineClient
from engine.commands import LaunchSpec, llama_cpp_launch, vllm_launch
from engine.fit import FitVerdict, estimate, summary
from engine.hardware import HardwareReport
from engine.metrics import fetch_engine_metrics
from engine.model_files import ensure_model_file
from engine.process import (
    EngineProcess,
    EngineStartError,
    LogPolicy,
    describe_http_failure,
    first_token,
    probe,
    probe_status,
    read_log_tail,
)
from engine.profiles import Profile
from engine.replicas import ReplicaPool, Route
from errors import Conflict, EngineUnavailable, InvalidInput
from settings import Settings

log = logging.getLogger(__name__)


class EngineState(enum.StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    WAITING = "waiting"  # an external engine that does not answer yet
    READY = "ready"
    DRAINING = "draining"
    SWITCHING = "switching"
    FAILED = "failed"


class EngineManager:
    def __init__(
        self, settings: Settings, profiles: dict[str, Profile], active: Profile,
        hardware: HardwareReport,
    ) -> None:
        self._settings = settings
        self.profiles = profiles
        self.profile = active
        self.hardware = hardware
        self.state = EngineState.STOPPED
        self.last_error: str | None = None
        self.events: deque[tuple[float, str]] = deque(maxlen=50)
        # Events ever recorded: the number the next one gets. The log keeps only the newest,
        # so whoever follows progress asks by number, not by a position that rolls over.
        self._event_count = 0
        self.restarts = 0
        self.log_path = settings.log_dir / "engine.log"
        self._external = settings.engine_base_url
        self._local_url = self._external or f"http://127.0.0.1:{settings.vllm_port}"
        # A managed engine gets a fresh key, so no other local process can use it unseen.
        self._engine_key = (settings.engine_api_key if self._external
                            else secrets.token_urlsafe(32))
        self._local_route = Route(EngineClient(
            self._local_url, self._engine_key, settings.engine_request_timeout_s,
            tokenize_timeout_s=settings.engine_tokenize_timeout_s))
        self._crashes: deque[float] = deque()
        self._process: EngineProcess | None = None
        self._pool: ReplicaPool | None = None
        self._switch_lock = asyncio.Lock()
        self._gate = asyncio.Event()
        self._gate.set()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._background: asyncio.Task[None] | None = None  # restarting, or waiting
        self._switch_task: asyncio.Task[None] | None = None
        self.interruption: str | None = None

    # -- what the chat service uses -------------------------------------------------------

    @contextlib.asynccontextmanager
    async def admission(self) -> AsyncIterator[None]:
        """Hold new chats while a switch drains the old engine, up to SWITCH_WAIT_S."""
        if not self._gate.is_set():
            try:
                await asyncio.wait_for(self._gate.wait(), self._settings.switch_wait_s)
            except TimeoutError as exc:
                raise EngineUnavailable(
                    "The model is being switched; try again in a moment", code="switching"
                ) from exc
        if (refusal := self.unavailable()) is not None:
            raise refusal
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    def unavailable(self) -> EngineUnavailable | None:
        """Why no chat can be sent to the engine now (None when it can): nothing is sent to an
        engine that is failed, starting or not there yet."""
        if self.state is EngineState.FAILED:
            reason = _first_line(self.last_error or "it stopped")
            return EngineUnavailable(
                f"The model engine is down ({reason}). An admin can restart it from the Models"
                " tab.", code="engine_failed")
        if self.state is EngineState.WAITING:
            return EngineUnavailable(f"Waiting for the model engine at {self._external} to"
                                     " answer; try again in a moment.", code="engine_waiting")
        if self.state in (EngineState.STARTING, EngineState.STOPPED):
            return EngineUnavailable("The model engine is starting; try again in a moment.",
                                     code="engine_starting")
        return None

    def routes(self) -> list[Route]:
        """Where to send the next request, best first."""
        return self._pool.candidates() if self._pool else [self._local_route]

    async def count_tokens(self, text: str) -> int | None:
        """Tokens by the serving engine's own tokenizer; None when it cannot say."""
        return await self.routes()[0].client.count_tokens(text)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    # -- lifecycle ------------------------------------------------------------------------

    def _event(self, message: str) -> None:
        log.info("engine: %s", message)
        self.events.append((time.time(), message))
        self._event_count += 1

    def events_since(self, number: int) -> tuple[list[tuple[float, str]], int]:
        """The events numbered `number` on that are still kept, and the next event's number."""
        oldest_kept = self._event_count - len(self.events)
        return list(self.events)[max(number - oldest_kept, 0):], self._event_count

    def _fail(self, reason: str) -> None:
        self.state = EngineState.FAILED
        self.last_error = reason
        self._event(_first_line(reason))

    def _ready(self, message: str) -> None:
        self.state = EngineState.READY
        self.last_error = None
        self._event(message)

    async def start(self) -> None:
        """Start the active profile; on failure the app keeps running with the engine failed.
        An external engine that does not answer yet is waited for in the background."""
        self.state = EngineState.STARTING
        self._event(f"starting {self.profile.id}")
        if self._external and not await probe(self._external, self._engine_key):
            self._wait_for_external()
            return
        await self._start_active(f"{self.profile.id} is ready")

    async def _start_active(self, ready_message: str) -> None:
        try:
            await self._launch(self.profile)
        except Exception as exc:
            self._fail(f"{self.profile.id} did not start: {exc}")
            raise
        self._ready(ready_message)

    def _refuse_if_busy(self) -> None:
        if self._switch_lock.locked():
            raise Conflict("A model switch or restart is in progress", code="switch_in_progress")

    async def restart(self) -> None:
        """An admin's restart: forget past crashes and start the active profile afresh."""
        self._refuse_if_busy()
        async with self._switch_lock:
            await self._cancel_background()
            self._crashes.clear()
            await self._shutdown_current()
            await self.start()

    def begin_restart(self) -> asyncio.Task[None]:
        self._refuse_if_busy()  # here too: the caller hears it now, not from the task
        task = asyncio.get_running_loop().create_task(self.restart())
        task.add_done_callback(_log_failure)
        self._switch_task = task
        return task

    def _wait_for_external(self) -> None:
        self.state = EngineState.WAITING
        self.last_error = f"waiting for the engine at {self._external} to answer"
        self._event(self.last_error)
        self._background = asyncio.get_running_loop().create_task(self._await_external())

    async def _await_external(self) -> None:
        assert self._external is not None
        while True:  # a vLLM container may take minutes to load its model
            if await probe(self._external, self._engine_key):
                break
            await asyncio.sleep(self._settings.engine_wait_interval_s)
        self.state = EngineState.STARTING
        with contextlib.suppress(Exception):  # a failure is recorded as the engine's state
            await self._start_active(
                f"{self.profile.id} is ready: the engine at {self._external} answers")

    async def _launch(self, profile: Profile) -> None:
        if self._external:  # one request tells both: it answers, and it generates
            try:
                await first_token(self._external, self._engine_key, profile.served_model_name,
                                  self._settings.engine_start_timeout_s)
            except httpx.HTTPError as exc:
                raise EngineStartError(f"the engine at {self._external} did not generate its"
                                       f" first token: {describe_http_failure(exc)}") from exc
            return
        if profile.engine == "remote":
            assert profile.remote is not None
            pool = ReplicaPool(list(profile.remote.base_urls), self._remote_key(profile),
                               self._settings.engine_request_timeout_s,
                               cooldown_s=self._settings.replica_cooldown_s,
                               tokenize_timeout_s=self._settings.engine_tokenize_timeout_s)
            if not await pool.check_all():
                await pool.close()
                raise EngineStartError("no replica answers: " + ", ".join(pool.base_urls))
            pool.start_checks()
            self._pool = pool
            return
        log_policy = LogPolicy(self.log_path, self._settings.engine_log_max_bytes,
                               self._settings.log_backups)
        process = EngineProcess(await self._launch_spec(profile), self._local_url, log_policy,
                                api_key=self._engine_key)
        process.spawn()
        self._process = process
        try:
            await process.wait_ready(self._settings.engine_start_timeout_s,
                                     profile.served_model_name)
        except BaseException:
            await process.stop()
            self._process = None
            raise
        process.watch(self._on_exit)

    async def _launch_spec(self, profile: Profile) -> LaunchSpec:
        settings = self._settings
        if profile.engine == "llama.cpp":
            assert profile.model_file is not None
            path = await asyncio.to_thread(
                ensure_model_file, settings.resolved_model_dir, profile.model_file)
            return llama_cpp_launch(profile, port=settings.vllm_port, model_path=path,
                                    api_key=self._engine_key)
        return vllm_launch(profile, python=settings.resolved_vllm_python,
                           port=settings.vllm_port, profiles_dir=settings.profiles_dir,
                           hf_home=settings.hf_home, hf_token=settings.hugging_face_hub_token,
                           api_key=self._engine_key)

    def _remote_key(self, profile: Profile) -> str:
        name = profile.remote.api_key_env if profile.remote else None
        return (os.environ.get(name) if name else None) or "not-needed"

    async def _shutdown_current(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            await process.stop()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _cancel_background(self) -> None:
        task, self._background = self._background, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def stop(self) -> None:
        if self._switch_task is not None:
            await asyncio.gather(self._switch_task, return_exceptions=True)
        await self._cancel_background()
        await self._shutdown_current()
        await self._local_route.client.close()
        self.state = EngineState.STOPPED

    # -- crash recovery -------------------------------------------------------------------

    def recent_failures(self) -> int:
        cutoff = time.monotonic() - self._settings.engine_restart_window_s
        while self._crashes and self._crashes[0] < cutoff:
            self._crashes.popleft()
        return len(self._crashes)

    def _on_exit(self, reason: str) -> None:
        self._process = None
        self._crashes.append(time.monotonic())
        self._fail(reason)
        if self._settings.engine_restart_attempts > 0:
            self._background = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        """Restart with backoff; a start that succeeds does not wipe the count, so an engine
        that dies on every answer ends failed instead of looping forever."""
        allowed, window = self._settings.engine_restart_attempts, self._settings.engine_restart_window_s
        while (failures := self.recent_failures()) <= allowed:
            await asyncio.sleep(self._settings.engine_restart_backoff_s * 2 ** (failures - 1))
            self.state = EngineState.STARTING
            self._event(f"restarting {self.profile.id} after failure {failures}"
                        f" (up to {allowed} in {window / 60:g} min)")
            try:
                await self._launch(self.profile)
            except Exception as exc:
                self._crashes.append(time.monotonic())
                self._fail(f"restart failed: {exc}")
                continue
            self.restarts += 1
            self._ready(f"{self.profile.id} is ready again")
            return
        reason = self.last_error or ""
        self._fail(f"gave up restarting {self.profile.id} after {failures} failures in"
                   f" {window / 60:g} min; an admin can restart it. Last: {reason}")

    # -- switching ------------------------------------------------------------------------

    def fit(self, profile: Profile) -> FitVerdict:
        return estimate(profile, self.hardware.gpus)

    def check_switch(self, profile_id: str, *, override_fit: bool = False) -> Profile:
        """The profile to switch to, or the reason a switch cannot start."""
        target = self.profiles.get(profile_id)
        if target is None:
            raise InvalidInput(f"Unknown profile {profile_id!r}", code="profile_not_found")
        self._refuse_if_busy()
        verdict = self.fit(target)
        if not verdict.fits and not (override_fit and self.hardware.has_gpu):
            reason = summary(verdict)
            hint = "" if self.hardware.has_gpu else " (no GPU here: only CPU profiles can run)"
            raise InvalidInput(f"{target.id}: {reason}{hint}", code="does_not_fit")
        return target

    def begin_switch(self, profile_id: str, *, override_fit: bool = False) -> asyncio.Task[None]:
        """Start a switch in the background after checking it may start."""
        self.check_switch(profile_id, override_fit=override_fit)
        task = asyncio.get_running_loop().create_task(
            self.switch(profile_id, override_fit=override_fit))
        task.add_done_callback(_log_failure)
        self._switch_task = task
        return task

    async def switch(self, profile_id: str, *, override_fit: bool = False) -> None:
        """Drain, stop the old engine, start the new one; roll back if it does not come up."""
        target = self.check_switch(profile_id, override_fit=override_fit)
        async with self._switch_lock:
            await self._drain(target)
            previous = self.profile
            try:
                await self._replace(target)
            except Exception as exc:
                self.last_error = f"switch to {target.id} failed: {_first_line(exc)}"
                self._event(self.last_error + f"; rolling back to {previous.id}")
                await self._rollback(previous)
                raise
            finally:
                self.interruption = None
                self._gate.set()

    async def _drain(self, target: Profile) -> None:
        self.state = EngineState.DRAINING
        self._gate.clear()
        self._event(f"switching to {target.id}: waiting for {self._in_flight} answers to finish")
        if self._in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self._settings.drain_grace_s)
        if self._in_flight:
            self._event(f"cutting off {self._in_flight} answers after the grace period")
        self.interruption = f"the model is being switched to {target.name}"

    async def _replace(self, target: Profile) -> None:
        self.state = EngineState.SWITCHING
        await self._cancel_background()
        self._crashes.clear()
        self._event(f"stopping {self.profile.id}")
        await self._shutdown_current()
        self._event(f"starting {target.id}")
        await self._launch(target)
        self.profile = target
        self.state = EngineState.READY
        self.last_error = None
        self._event(f"{target.id} is ready")
        self._settings.active_profile_path.write_text(target.id)

    async def _rollback(self, previous: Profile) -> None:
        await self._shutdown_current()
        try:
            await self._launch(previous)
        except Exception as exc:
            self.state = EngineState.FAILED
            self.last_error = f"{self.last_error}; rollback failed too: {_first_line(exc)}"
            self._event(f"rollback to {previous.id} failed")
            return
        self.profile = previous
        self.state = EngineState.READY
        self._event(f"rolled back: {previous.id} is ready")

    # -- status ---------------------------------------------------------------------------

    async def health(self) -> bool:
        if self.state is not EngineState.READY:
            return False
        if self._pool is not None:
            return self._pool.any_healthy
        if self._external:
            return self._local_route.in_service(
                await probe_status(self._external, self._settings.engine_api_key))
        return self._process is not None and self._process.running

    async def metrics(self) -> dict[str, Any] | None:
        if self.profile.engine == "llama.cpp" and not self._external:
            return None  # llama-cpp-python serves no /metrics
        return await fetch_engine_metrics(self.routes()[0].base_url)

    def log_tail(self, lines: int = 50) -> str:
        return read_log_tail(self.log_path, lines)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "profile": self.profile.id,
            "model": self.profile.served_model_name,
            "engine": self.profile.engine,
            "pid": self.pid,
            "last_error": self.last_error,
            "restarts": self.restarts,
            "recent_failures": self.recent_failures(),
            "external": self._external,
            "in_flight": self._in_flight,
            "replicas": [r.snapshot() for r in self._pool.routes] if self._pool else [],
            "events": [{"at": at, "message": message} for at, message in self.events],
        }


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("engine switch or restart failed: %s", _first_line(exc))


def _first_line(exc: BaseException | str) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]
