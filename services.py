"""The app's resources, built once in the lifespan and handed to REST routes and the UI."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from auth import ops_token
from auth.accounts import AccountService
from auth.passwords import PasswordHasher
from auth.service import AuthService
from auth.tokens import TokenService
from chat.admission import Admission
from chat.conversations import ConversationService
from chat.live import LiveAnswers
from chat.load import StreamLoad
from chat.presets import PresetService
from chat.recording import Recorder, UsageObserver
from chat.service import ChatService
from chat.titles import TitleWriter
from engine.commands import apply_overrides
from engine.hardware import read_hardware, require_gpu
from engine.manager import EngineManager
from engine.model_files import ensure_model_file
from engine.profiles import Profile, ProfileError, load_profiles
from engine.sampler import Sampler
from observability.logs import log_request
from observability.metrics import AppMetrics
from settings import Settings
from storage import drafts
from storage.db import Database
from storage.exports import SnapshotWriter
from storage.retention import RetentionSweeper
from storage.writer import BatchWriter
from usage import UsageService

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """A configuration that must not run; the message says what to change."""


DEFAULT_PROFILE = "smollm2-135m-cpu"


@dataclass
class Services:
    settings: Settings
    db: Database
    auth: AuthService
    accounts: AccountService
    engine: EngineManager
    chat: ChatService
    conversations: ConversationService
    writer: BatchWriter
    metrics: AppMetrics
    live: LiveAnswers
    presets: PresetService
    sampler: Sampler
    snapshots: SnapshotWriter
    usage: UsageService
    retention: RetentionSweeper

    @classmethod
    def build(cls, settings: Settings) -> Services:
        check_exposure(settings)
        # Private even where an older version (or another umask) made it readable to others.
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.data_dir.chmod(0o700)
        engine = build_engine(settings)
        db = Database(settings.db_path)
        hasher = PasswordHasher(settings.bcrypt_rounds)
        auth = build_auth(settings, db, hasher)
        writer = BatchWriter(db)
        metrics = AppMetrics(lambda: {p.served_model_name for p in engine.profiles.values()})
        parts = build_chat(settings, db, engine, writer, refused=[metrics.refused],
                           recorded=[metrics.observe, log_request])

        async def engine_load() -> dict[str, Any]:
            return {**(await engine.metrics() or {}), "state": engine.state.value}

        return cls(settings, db, auth,
                   AccountService(db, hasher, settings.password_min_length, parts.recorder.wait),
                   engine, parts.chat, parts.chat.conversations, writer, metrics,
                   LiveAnswers(parts.chat),
                   PresetService(db, settings.max_tokens_limit, parts.admission.check_content),
                   Sampler(read_hardware, engine_load, parts.chat.load.stats),
                   SnapshotWriter(db, settings.data_dir / "exports", settings.snapshot_interval_s),
                   UsageService(db),
                   RetentionSweeper(db, settings.retention_days, settings.usage_retention_days,
                                    settings.retention_hour_utc))

    async def start(self) -> None:
        ops_token.issue(self.settings.data_dir)  # for ./backup, run by the app's own OS user
        marked = self.db.call(drafts.recover)
        if marked:
            log.warning("%d answers were cut off by the last shutdown; marked as interrupted", marked)
        self.writer.start()
        await self.sampler.start()
        await self.snapshots.start()
        await self.retention.start()
        try:
            await self.engine.start()
        except Exception as exc:
            # The app still serves logins, history and /health (degraded) without an engine.
            # The reason (with the engine's log) says what happened; a traceback would not.
            log.error("the engine did not start: %s", exc)

    async def stop(self) -> None:
        await self.sampler.stop()
        await self.live.shutdown()
        await self.chat.drain()
        await self.writer.stop()
        await self.retention.stop()
        await self.snapshots.stop()
        await self.engine.stop()
        self.db.close()


@dataclass
class ChatParts:
    chat: ChatService
    admission: Admission
    recorder: Recorder


def build_chat(settings: Settings, db: Database, engine: EngineManager, writer: BatchWriter, *,
               refused: Iterable[Callable[[str], None]] = (),
               recorded: Iterable[UsageObserver] = ()) -> ChatParts:
    """The chat service and its parts; `refused` hears each refusal's code and `recorded` each
    stored answer's usage (metrics and the request log). Tests build the chat service here too."""
    admission = Admission(settings, db, observers=refused)
    titles = TitleWriter(writer, engine)
    recorder = Recorder(writer, engine.count_tokens, titles, recorded,
                        auto_titles=settings.auto_titles, checkpoint_s=settings.answer_checkpoint_s)
    conversations = ConversationService(db, recorder.wait, admission.check_content,
                                        lambda: engine.profile.served_model_name)
    chat = ChatService(settings, db, engine, admission=admission, recorder=recorder,
                       titles=titles, conversations=conversations, load=StreamLoad())
    return ChatParts(chat, admission, recorder)


def build_engine(settings: Settings) -> EngineManager:
    """The engine manager for the active profile, on the hardware found."""
    hardware = read_hardware()
    if hardware.error:
        log.info("no GPU in use: %s", hardware.error)
    if settings.require_gpu:
        require_gpu(hardware)
    profiles = load_profiles(settings.profiles_dir)
    active = active_profile(settings, profiles)
    profiles[active.id] = active
    return EngineManager(settings, profiles, active, hardware)


def build_auth(settings: Settings, db: Database, hasher: PasswordHasher) -> AuthService:
    """Sign-in with the seeded accounts; the demo passwords never leave loopback."""
    auth = AuthService(db, hasher,
                       TokenService(settings.resolve_jwt_secret(), settings.jwt_expire_minutes),
                       settings)
    auth.seed_accounts()
    if not settings.bound_to_loopback and (demo := auth.demo_passwords_in_use()):
        db.close()
        raise StartupError(
            f"Demo accounts {demo} still have their published passwords and the service is"
            f" bound to {settings.host}. Change or remove them, or bind to 127.0.0.1."
        )
    return auth


def active_profile(settings: Settings, profiles: dict[str, Profile]) -> Profile:
    """ACTIVE_PROFILE if set, else the last profile switched to, else the CPU default;
    the plan's MODEL_ID / VLLM_TP / VLLM_MAXLEN / VLLM_UTIL override it."""
    saved = settings.active_profile_path
    chosen = settings.active_profile or (
        saved.read_text().strip() if saved.exists() else DEFAULT_PROFILE
    )
    if chosen not in profiles:
        raise ProfileError(
            f"profile {chosen!r} is not in {settings.profiles_dir}"
            f" (found: {', '.join(profiles) or 'none'})"
        )
    profile = profiles[chosen]
    overrides = (settings.model_id, settings.vllm_tp, settings.vllm_maxlen, settings.vllm_util)
    if all(value is None for value in overrides):
        return profile
    try:
        return apply_overrides(
            profile, model_id=settings.model_id, tensor_parallel_size=settings.vllm_tp,
            max_model_len=settings.vllm_maxlen, gpu_memory_utilization=settings.vllm_util,
        )
    except ValueError as exc:
        raise ProfileError(f"{chosen}: {exc}") from exc


def profile_to_start(settings: Settings) -> Profile:
    """For ./start: the profile the app will start, or the reason it cannot, as an exit."""
    try:
        return active_profile(settings, load_profiles(settings.profiles_dir))
    except ProfileError as exc:
        sys.exit(f"error: {exc}")


def fetch_active_model(settings: Settings) -> None:
    """Fetch the model file of the profile the app will start, chosen just as the app chooses
    it. ./start runs this first, so a download shows in the terminal and a bad profile name
    stops it there; the scripts keep no profile setting of their own."""
    profile = profile_to_start(settings)
    if settings.engine_base_url or profile.model_file is None:
        print(f"Profile {profile.id}: no model file to fetch")
        return
    print(f"Checking the model file for profile {profile.id} ...", flush=True)
    ensure_model_file(settings.resolved_model_dir, profile.model_file)


def check_exposure(settings: Settings) -> None:
    """Nothing insecure by default may be reachable from another machine."""
    admin_password = settings.admin_password
    if admin_password and len(admin_password) < settings.password_min_length:
        raise StartupError(f"ADMIN_PASSWORD needs at least {settings.password_min_length}"
                           " characters (PASSWORD_MIN_LENGTH)")
    if settings.bound_to_loopback:
        return
    if settings.development_mode:
        raise StartupError("DEVELOPMENT_MODE bypasses login; it only runs bound to 127.0.0.1")
    if not settings.jwt_secret:
        raise StartupError(f"Set JWT_SECRET before binding to {settings.host}")


class ServicesHolder:
    """The one way to the services: REST routes, the login page and the Gradio Blocks are all
    built before the lifespan runs, and reach the services through the app's holder later."""

    def __init__(self) -> None:
        self._services: Services | None = None

    def set(self, services: Services | None) -> None:
        self._services = services

    def get(self) -> Services:
        if self._services is None:
            raise RuntimeError("services are not started")
        return self._services

    def started(self) -> Services | None:
        """The services, or None before the lifespan starts them and after it stops them."""
        return self._services


def engine_to_install(settings: Settings) -> str:
    """What ./start must install beside the app for the profile the app will start: "vllm"
    when the app runs vLLM itself, else "none" (llama.cpp comes with requirements.txt; an
    ENGINE_BASE_URL or a remote profile runs elsewhere)."""
    profile = profile_to_start(settings)
    return "vllm" if profile.engine == "vllm" and not settings.engine_base_url else "none"


if __name__ == "__main__":
    if sys.argv[1:] == ["--engine-to-install"]:
        print(engine_to_install(Settings()))
    else:
        fetch_active_model(Settings())
