"""Profile files, the llama.cpp command line, and the engine log tail."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.profiles import Profile, ProfileError, load_profile, load_profiles
from settings import Settings

VALID = """\
id = "{id}"
name = "Tiny"
engine = "llama.cpp"
served_model_name = "tiny-instruct"
max_model_len = {max_model_len}
{extra}
[model_file]
path = "tiny.gguf"
"""


def write_profile(directory: Path, file_id: str, *, profile_id: str | None = None,
                  max_model_len: int = 4096, extra: str = "") -> Path:
    path = directory / f"{file_id}.toml"
    path.write_text(VALID.format(id=profile_id or file_id, max_model_len=max_model_len, extra=extra))
    return path


@pytest.fixture
def smollm2() -> Profile:
    return load_profiles(Settings().profiles_dir)["smollm2-135m-cpu"]


def test_shipped_profiles_load(smollm2: Profile) -> None:
    profiles = load_profiles(Settings().profiles_dir)
    assert "smollm2-135m-cpu" in profiles
    assert all(profile_id == profile.id for profile_id, profile in profiles.items())
    assert smollm2.engine == "llama.cpp"
    assert smollm2.served_model_name == "smollm2-135m-instruct"
    assert smollm2.model_names == ["smollm2-135m-instruct", "smollm2-135m-cpu", "smollm2"]
    assert smollm2.model_file.path.endswith(".gguf")


def test_minimal_profile_gets_default_sampling(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path, "tiny"))
    assert (profile.sampling.temperature, profile.sampling.max_tokens) == (0.7, 512)
    assert profile.aliases == []


BROKEN = {  # file content, and a word the error must contain besides the file name
    "unknown-field": (VALID.format(id="broken", max_model_len=2048, extra='unknown_field = "x"'),
                      "unknown_field"),
    "toml-syntax-error": ('id = "broken\nname = ', "line 1"),
    "unsupported-engine": (
        VALID.format(id="broken", max_model_len=2048, extra="").replace("llama.cpp", "vllm"), "engine"
    ),
    "context-too-small": (VALID.format(id="broken", max_model_len=64, extra=""), "max_model_len"),
}


@pytest.mark.parametrize(("content", "word"), BROKEN.values(), ids=BROKEN.keys())
def test_unusable_profile_is_refused_naming_its_file(tmp_path: Path, content: str, word: str) -> None:
    write_profile(tmp_path, "good")
    (tmp_path / "broken.toml").write_text(content)
    with pytest.raises(ProfileError, match=r"^broken\.toml(:\d+)?: ") as info:
        load_profiles(tmp_path)
    assert word in str(info.value)


def test_an_unknown_field_is_reported_with_its_line(tmp_path: Path) -> None:
    content = VALID.format(id="broken", max_model_len=2048, extra='unknown_field = "x"')
    (tmp_path / "broken.toml").write_text(content)
    line = content.splitlines().index('unknown_field = "x"') + 1
    with pytest.raises(ProfileError, match=rf"^broken\.toml:{line}: unknown_field: Extra inputs"):
        load_profile(tmp_path / "broken.toml")


def test_profile_whose_id_differs_from_its_file_name_is_refused(tmp_path: Path) -> None:
    write_profile(tmp_path, "mine", profile_id="theirs")
    with pytest.raises(ProfileError, match=r"mine\.toml") as info:
        load_profile(tmp_path / "mine.toml")
    assert "theirs" in str(info.value)
