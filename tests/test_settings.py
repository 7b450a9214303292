"""Settings from the environment, the generated JWT secret, and the exposure check."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from services import StartupError, check_exposure
from settings import Settings

ENV_NAMES = ["GATEWAY_HOST", "GATEWAY_PORT", "VLLM_PORT", "JWT_SECRET", "JWT_EXPIRE_MINUTES",
             "DEVELOPMENT_MODE", "DATA_DIR", "ACTIVE_PROFILE"]


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable from the caller's shell, and no `.env` file, may leak into these tests."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_plan() -> None:
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.bound_to_loopback
    assert settings.gateway_port == 8080
    assert settings.vllm_port == 8000
    assert settings.jwt_expire_minutes == 30
    assert settings.jwt_secret is None
    assert settings.development_mode is False
    assert settings.db_path == Path("data") / "vllm_chat.duckdb"


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GATEWAY_HOST", "0.0.0.0")
    monkeypatch.setenv("GATEWAY_PORT", "9090")
    monkeypatch.setenv("VLLM_PORT", "8100")
    monkeypatch.setenv("JWT_EXPIRE_MINUTES", "5")
    monkeypatch.setenv("DEVELOPMENT_MODE", "true")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "elsewhere"))
    settings = Settings()
    assert (settings.host, settings.gateway_port, settings.vllm_port) == ("0.0.0.0", 9090, 8100)
    assert settings.jwt_expire_minutes == 5
    assert settings.development_mode is True
    assert settings.db_path == tmp_path / "elsewhere" / "vllm_chat.duckdb"
    assert not settings.bound_to_loopback


def test_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GATEWAY_PORT=7070\n")
    assert Settings().gateway_port == 7070


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("192.168.1.10", False), ("example.com", False),
])
def test_loopback_hosts_are_recognised(host: str, loopback: bool) -> None:
    assert Settings(GATEWAY_HOST=host).bound_to_loopback is loopback


def test_generated_jwt_secret_is_kept_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    secret = Settings(data_dir=data_dir).resolve_jwt_secret()
    path = data_dir / "jwt_secret"
    assert len(secret) >= 32
    assert path.read_text() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=data_dir).resolve_jwt_secret() == secret


def test_each_installation_generates_its_own_secret(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "a").resolve_jwt_secret()
    second = Settings(data_dir=tmp_path / "b").resolve_jwt_secret()
    assert first != second


def test_configured_jwt_secret_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Settings(data_dir=tmp_path).resolve_jwt_secret()
    monkeypatch.setenv("JWT_SECRET", "c" * 40)
    assert Settings(data_dir=tmp_path).resolve_jwt_secret() == "c" * 40


def test_configured_jwt_secret_writes_no_file(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path / "data", jwt_secret="c" * 40).resolve_jwt_secret()
    assert not (tmp_path / "data" / "jwt_secret").exists()


def test_exposed_development_mode_is_refused() -> None:
    settings = Settings(GATEWAY_HOST="0.0.0.0", development_mode=True, jwt_secret="c" * 40)
    with pytest.raises(StartupError, match="DEVELOPMENT_MODE"):
        check_exposure(settings)


def test_exposed_service_without_jwt_secret_is_refused() -> None:
    with pytest.raises(StartupError, match="JWT_SECRET"):
        check_exposure(Settings(GATEWAY_HOST="0.0.0.0"))


def test_exposed_service_with_jwt_secret_passes() -> None:
    check_exposure(Settings(GATEWAY_HOST="0.0.0.0", jwt_secret="c" * 40))


def test_loopback_service_passes_even_in_development_mode_without_secret() -> None:
    check_exposure(Settings(GATEWAY_HOST="127.0.0.1", development_mode=True))


def test_an_empty_secret_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "jwt_secret").write_text("")
    secret = Settings(data_dir=tmp_path).resolve_jwt_secret()
    assert len(secret) >= 32
    assert (tmp_path / "jwt_secret").read_text() == secret


@pytest.mark.parametrize("given", [
    "http://gpu-box:8000", "http://gpu-box:8000/", "http://gpu-box:8000/v1",
    "http://gpu-box:8000/v1/", " http://gpu-box:8000/v1 ",
])
def test_engine_base_url_is_taken_with_or_without_v1(given: str) -> None:
    """OpenAI tools write base URLs with /v1; the app adds /v1 itself."""
    assert Settings(ENGINE_BASE_URL=given).engine_base_url == "http://gpu-box:8000"


def test_an_empty_engine_base_url_means_a_managed_engine() -> None:
    assert Settings(ENGINE_BASE_URL="").engine_base_url is None


def test_content_and_answer_limits_default_to_three_at_once_and_nothing_else() -> None:
    settings = Settings()
    assert settings.chat_concurrent_per_user == 3
    assert settings.daily_token_quota is None
    assert settings.banned_words_file is None


def test_blank_quota_and_banned_words_file_mean_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """As .env.sample writes them (`BANNED_WORDS_FILE=`): not the current folder, not an error."""
    monkeypatch.setenv("BANNED_WORDS_FILE", "")
    monkeypatch.setenv("DAILY_TOKEN_QUOTA", " ")
    settings = Settings()
    assert (settings.banned_words_file, settings.daily_token_quota) == (None, None)


@pytest.mark.parametrize("name", ["CHAT_CONCURRENT_PER_USER", "DAILY_TOKEN_QUOTA"])
def test_negative_limits_are_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "-1")
    with pytest.raises(ValueError, match=name.lower()):
        Settings()


def test_queue_bounds_follow_chat_concurrency_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (Settings().resolved_queue_per_user, Settings().resolved_queue_max_size) == (16, 256)
    small = Settings(chat_concurrency=2)
    assert (small.resolved_queue_per_user, small.resolved_queue_max_size) == (8, 128)
    monkeypatch.setenv("QUEUE_PER_USER", "3")
    monkeypatch.setenv("QUEUE_MAX_SIZE", "")
    assert (Settings().resolved_queue_per_user, Settings().resolved_queue_max_size) == (3, 128)


def test_a_queue_one_user_can_fill_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_PER_USER", "10")
    monkeypatch.setenv("QUEUE_MAX_SIZE", "10")
    with pytest.raises(ValueError, match="QUEUE_MAX_SIZE must be larger than QUEUE_PER_USER"):
        Settings()


@pytest.mark.parametrize("name", ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"])
def test_the_hugging_face_token_is_read_under_either_name(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path, name: str) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for other in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, "hf_secret")
    assert Settings().hugging_face_hub_token == "hf_secret"
    assert Settings(hugging_face_hub_token="by-name").hugging_face_hub_token == "by-name"


def test_vllm_runs_on_vllm_python_else_the_apps_own_vllm_venv_else_the_apps_python(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import settings as settings_module

    monkeypatch.setattr(settings_module, "APP_ROOT", tmp_path)
    monkeypatch.delenv("VLLM_PYTHON", raising=False)
    assert Settings().resolved_vllm_python == Path(sys.executable)
    own = tmp_path / ".venv-vllm" / "bin" / "python"
    own.parent.mkdir(parents=True)
    own.touch()
    assert Settings().resolved_vllm_python == own
    monkeypatch.setenv("VLLM_PYTHON", "/opt/vllm/bin/python")
    assert Settings().resolved_vllm_python == Path("/opt/vllm/bin/python")
