"""The one configuration object, read from the environment and `.env` once at start-up."""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from functools import cached_property
from pathlib import Path

from limits import parse as parse_rate_limit
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
# As a Host header names them (an IPv6 address in brackets).
LOOPBACK_HOST_NAMES = ("localhost", "127.0.0.1", "[::1]")


def is_loopback_host(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


APP_ROOT = Path(__file__).resolve().parent


def write_private(path: Path, text: str) -> None:
    """A secret file readable by this user only, written whole under another name and then
    renamed: never a half-written secret, never one readable by others for a moment."""
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    partial.replace(path)


class Settings(BaseSettings):
    """Variable names follow the plan's `.env.sample` where it has one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    app_version: str = "0.1.0"
    host: str = Field(default="127.0.0.1", alias="GATEWAY_HOST")
    gateway_port: int = 8080
    data_dir: Path = Path("data")

    # Engine. ACTIVE_PROFILE wins; unset, the last profile switched to (DATA_DIR/active_profile)
    # is started, else the CPU default.
    active_profile: str | None = None
    profiles_dir: Path = APP_ROOT / "profiles"
    model_dir: Path | None = None
    vllm_port: int = 8000
    engine_base_url: str | None = None
    engine_start_timeout_s: float = 180.0
    engine_request_timeout_s: float = 600.0
    # A user gets a clear error when the engine has sent nothing for this long.
    engine_first_token_timeout_s: float = Field(default=60.0, gt=0)
    # Token counts for context fitting; on timeout the app goes on without them.
    engine_tokenize_timeout_s: float = Field(default=5.0, gt=0)
    # For an external engine (ENGINE_BASE_URL); a managed engine gets a generated key.
    engine_api_key: str = "not-needed"
    # Restarts after crashes within the window; one more failure and the engine stays failed.
    engine_restart_attempts: int = Field(default=5, ge=0)
    engine_restart_window_s: float = Field(default=600.0, gt=0)
    engine_restart_backoff_s: float = Field(default=1.0, ge=0.0)
    # How often an external engine that does not answer yet is asked again.
    engine_wait_interval_s: float = Field(default=2.0, gt=0)
    switch_wait_s: float = Field(default=120.0, ge=0.0)
    drain_grace_s: float = Field(default=30.0, ge=0.0)
    replica_cooldown_s: float = Field(default=30.0, ge=0.0)
    # The plan's .env names (7.4): they override the active vLLM profile; HF_* reach vLLM's env.
    model_id: str | None = None
    vllm_tp: int | None = None
    vllm_maxlen: int | None = None
    vllm_util: float | None = None
    # HF_TOKEN is the name Hugging Face's own tools and vLLM's image use.
    hugging_face_hub_token: str | None = Field(
        default=None, validation_alias=AliasChoices("hugging_face_hub_token", "hf_token"))
    hf_home: Path | None = None
    require_gpu: bool = False
    # The Python that runs vLLM. vLLM pins its own web stack (0.33.0: fastapi<0.137, the app
    # has 0.165 for Gradio), so it lives in a venv of its own: ./start makes .venv-vllm when the
    # active profile needs it. Unset: that venv's Python if it exists, else the app's own.
    vllm_python: Path | None = None

    # Auth
    jwt_secret: str | None = None
    jwt_expire_minutes: int = Field(default=30, ge=1)
    development_mode: bool = False
    demo_accounts: bool = True
    admin_password: str | None = None
    # Every password an account gets (ADMIN_PASSWORD too); the demo accounts' published
    # passwords are shorter, which is one more reason they exist on loopback only.
    password_min_length: int = Field(default=8, ge=1, le=72)
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    # Failed sign-ins per client address and username ("10/minute"); empty: no limit.
    login_rate_limit: str = "10/minute"

    # Chat
    chat_concurrency: int = Field(default=16, ge=1)
    # Answers per user, from the UI, REST, /v1 and the Gradio API together; empty: no limit.
    chat_rate_limit: str = "60/minute"
    # Answers streaming at once per user, over every entry point together; 0: no limit.
    chat_concurrent_per_user: int = Field(default=3, ge=0)
    # Input + output tokens per user per UTC day (the usage table); unset or 0: no quota.
    daily_token_quota: int | None = Field(default=None, ge=0)
    # Words and phrases (one a line, # comments) refused in what users send, matched
    # case-insensitively inside the text; read once at start. Unset: no filter.
    banned_words_file: Path | None = None
    max_message_chars: int = Field(default=32_000, ge=1)
    max_tokens_limit: int = Field(default=4096, ge=1)
    default_max_tokens: int = Field(default=512, ge=1)
    default_temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    stream_flush_interval_s: float = 0.04
    # How often an answer being written is saved, so a crash of the app loses little of it.
    answer_checkpoint_s: float = Field(default=2.0, gt=0)
    # Ask the model for a short title after a conversation's first answer.
    auto_titles: bool = True

    # Gradio's queue (the UI and the Gradio API) is shared by every user. QUEUE_PER_USER: the
    # events one user may have waiting in it; more are refused (HTTP 429), so one user cannot
    # fill it for everyone. Unset: max(8, CHAT_CONCURRENCY) — a page opening fires 3-4 events
    # at once (two tabs, twice that), and a script gains nothing by queueing more chats than
    # can run at once. QUEUE_MAX_SIZE: events waiting in all; beyond it everyone is refused
    # (HTTP 503). Unset: 16 users' full shares, at least 8 x CHAT_CONCURRENCY.
    queue_per_user: int | None = Field(default=None, ge=1)
    queue_max_size: int | None = Field(default=None, ge=2)

    @property
    def resolved_queue_per_user(self) -> int:
        return self.queue_per_user or max(8, self.chat_concurrency)

    @property
    def resolved_queue_max_size(self) -> int:
        return self.queue_max_size or max(16 * self.resolved_queue_per_user,
                                          8 * self.chat_concurrency)

    @field_validator("queue_per_user", "queue_max_size", mode="before")
    @classmethod
    def _blank_queue_size_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _queue_holds_more_than_one_user(self) -> Settings:
        if self.resolved_queue_max_size <= self.resolved_queue_per_user:
            raise ValueError("QUEUE_MAX_SIZE must be larger than QUEUE_PER_USER, or one user"
                             " fills the queue for everyone")
        return self

    cors_origins: str = ""
    # Proxies whose X-Forwarded-For / -Proto are believed (comma-separated addresses or
    # networks, "*" for any). Empty: none, so no client can pose as another address.
    forwarded_allow_ips: str = ""
    # Logs: app.log (when LOG_FILE is set, as ./start does) and engine.log rotate by size.
    log_file: Path | None = None
    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    engine_log_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    log_backups: int = Field(default=3, ge=1)
    # Parquet snapshots of the tables for notebooks, in DATA_DIR/exports.
    snapshot_interval_s: float = Field(default=300.0, gt=0)
    # /metrics answers loopback callers; others need this as a Bearer token.
    metrics_token: str | None = None
    # How many backups ./backup (POST /api/admin/backup) keeps in DATA_DIR/backups.
    backup_keep: int = Field(default=7, ge=1)
    # Off unless set: conversations untouched this many days, and usage rows this old, are
    # deleted at start and every night at RETENTION_HOUR_UTC (storage/retention.py).
    retention_days: int | None = Field(default=None, ge=1)
    usage_retention_days: int | None = Field(default=None, ge=1)
    retention_hour_utc: int = Field(default=3, ge=0, le=23)

    @field_validator("engine_base_url")
    @classmethod
    def _engine_url_without_v1(cls, url: str | None) -> str | None:
        """OpenAI tools write base URLs with /v1; the app adds the paths itself."""
        if not url or not url.strip():
            return None
        url = url.strip().rstrip("/")
        return url.removesuffix("/v1").rstrip("/")

    @field_validator("banned_words_file", "daily_token_quota", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`BANNED_WORDS_FILE=` (as .env.sample writes it) means no file, not the current folder."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("login_rate_limit", "chat_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, rule: str) -> str:
        if rule.strip():
            parse_rate_limit(rule)  # ValueError: "couldn't parse rate limit string ..."
        return rule

    @property
    def resolved_vllm_python(self) -> Path:
        if self.vllm_python is not None:
            return self.vllm_python
        own_venv = APP_ROOT / ".venv-vllm" / "bin" / "python"
        return own_venv if own_venv.exists() else Path(sys.executable)

    @cached_property
    def resolved_model_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "vllm_chat.duckdb"

    @property
    def active_profile_path(self) -> Path:
        return self.data_dir / "active_profile"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def bound_to_loopback(self) -> bool:
        return is_loopback_host(self.host)

    def resolve_jwt_secret(self) -> str:
        """A configured secret wins; otherwise one is generated once and kept in DATA_DIR.

        There is no default secret in the code, so no two installations share one.
        """
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_dir / "jwt_secret"
        if path.exists() and (kept := path.read_text().strip()):
            return kept
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        write_private(path, secret)
        return secret
