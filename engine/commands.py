"""Engine command lines: what to run for a profile, and which environment variables to add.

Pure functions of a profile and a few settings, so every flag can be checked without a GPU,
without vLLM installed and without starting anything.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.profiles import Profile

ENGINE_HOST = "127.0.0.1"  # engines only ever listen on loopback; the gateway is the way in


@dataclass(frozen=True)
class LaunchSpec:
    argv: list[str]
    env: dict[str, str]  # variables to ADD to os.environ for the child


def llama_cpp_launch(profile: Profile, *, port: int, model_path: Path, api_key: str) -> LaunchSpec:
    argv = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", profile.served_model_name,
        "--host", ENGINE_HOST,
        "--port", str(port),
        "--n_ctx", str(profile.max_model_len),
        # By default any new request (even GET /v1/models) ends the stream in flight.
        "--interrupt_requests", "False",
    ]
    if profile.llama_cpp.n_threads is not None:
        argv += ["--n_threads", str(profile.llama_cpp.n_threads)]
    if profile.llama_cpp.n_batch is not None:
        argv += ["--n_batch", str(profile.llama_cpp.n_batch)]
    # The key goes by environment (its settings are pydantic-settings), not argv, which `ps` and
    # the app's log show. Its server lets HOST and PORT from the environment beat --host and
    # --port, so an inherited PORT (common on hosting platforms) is overridden here.
    return LaunchSpec(argv=argv, env={"API_KEY": api_key, "HOST": ENGINE_HOST, "PORT": str(port)})


def chat_template_path(profile: Profile, profiles_dir: Path) -> Path | None:
    """The profile's chat template file (relative names live next to the profiles); it must exist."""
    if profile.chat_template is None:
        return None
    path = Path(profile.chat_template).expanduser()
    if not path.is_absolute():
        path = profiles_dir / path
    if not path.is_file():
        raise ValueError(f"profile {profile.id!r}: chat template file {path} does not exist")
    return path


def vllm_launch(
    profile: Profile,
    *,
    python: Path | str = sys.executable,
    port: int,
    profiles_dir: Path,
    hf_home: Path | None,
    hf_token: str | None,
    api_key: str,
) -> LaunchSpec:
    if profile.engine != "vllm" or profile.model is None:
        raise ValueError(f"profile {profile.id!r} is not a vLLM profile (engine {profile.engine!r})")
    argv = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", profile.model,
        # Every name of the profile, so a client may send any of them; the first is the one
        # vLLM reports back in responses.
        "--served-model-name", *profile.model_names,
        "--host", ENGINE_HOST,
        "--port", str(port),
        "--dtype", profile.dtype,
        "--max-model-len", str(profile.max_model_len),
        "--tensor-parallel-size", str(profile.tensor_parallel_size),
        "--gpu-memory-utilization", str(profile.gpu_memory_utilization),
        # No --swap-space: it only ever served V0's best_of/beam swapping, was unused in the V1
        # engine and left vLLM's EngineArgs in 0.18.0 (vllm-project/vllm#36216), so current
        # releases refuse the flag. Profiles have no setting for it; an older vLLM that still
        # wants it can get it through extra_args.
    ]
    if profile.quantization is not None:
        argv += ["--quantization", profile.quantization]
    if profile.kv_cache_dtype != "auto":
        argv += ["--kv-cache-dtype", profile.kv_cache_dtype]
    if profile.max_num_seqs is not None:
        argv += ["--max-num-seqs", str(profile.max_num_seqs)]
    template = chat_template_path(profile, profiles_dir)
    if template is not None:
        argv += ["--chat-template", str(template)]
    if profile.reasoning_parser is not None:
        argv += ["--reasoning-parser", profile.reasoning_parser]
    argv += profile.extra_args

    # vLLM reads VLLM_API_KEY like --api-key; kept out of argv, which `ps` and the log show.
    env: dict[str, str] = {"VLLM_API_KEY": api_key}
    if profile.gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(gpu) for gpu in profile.gpus)
        # NVML (and so the fit check and the Models tab) numbers GPUs in PCI bus order; CUDA's
        # default is fastest first. Make GPU1 mean the same card to both.
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    if hf_home is not None:
        env["HF_HOME"] = str(hf_home)
    if hf_token:  # an empty HUGGING_FACE_HUB_TOKEN= line in .env means no token
        env["HF_TOKEN"] = hf_token
        env["HUGGING_FACE_HUB_TOKEN"] = hf_token
    return LaunchSpec(argv=argv, env=env)


def apply_overrides(
    profile: Profile,
    *,
    model_id: str | None,
    tensor_parallel_size: int | None,
    max_model_len: int | None,
    gpu_memory_utilization: float | None,
) -> Profile:
    """The plan's MODEL_ID / VLLM_TP / VLLM_MAXLEN / VLLM_UTIL applied to the active profile.

    None means no override. The result is validated like a profile file, so VLLM_UTIL=1.5 or a
    VLLM_TP larger than the profile's pinned GPUs raise. Overrides that mean nothing to the
    profile's engine raise too, rather than being silently ignored.
    """
    given = {
        "MODEL_ID": model_id,
        "VLLM_TP": tensor_parallel_size,
        "VLLM_MAXLEN": max_model_len,
        "VLLM_UTIL": gpu_memory_utilization,
    }
    applicable = {
        "vllm": {"MODEL_ID", "VLLM_TP", "VLLM_MAXLEN", "VLLM_UTIL"},
        "llama.cpp": {"VLLM_MAXLEN"},  # becomes --n_ctx
        "remote": set(),  # the app starts nothing for a remote profile
    }[profile.engine]
    refused = [name for name, value in given.items() if value is not None and name not in applicable]
    if refused:
        raise ValueError(
            f"{', '.join(refused)} {'does' if len(refused) == 1 else 'do'} not apply to profile"
            f" {profile.id!r}, which runs on the {profile.engine} engine; unset"
            f" {'it' if len(refused) == 1 else 'them'} or choose a vLLM profile with ACTIVE_PROFILE"
        )

    if model_id is not None and not model_id.strip():
        raise ValueError("MODEL_ID is set but empty")
    data: dict[str, Any] = profile.model_dump()
    if model_id is not None and model_id != profile.model:
        # A profile that serves under its model's own id follows the new model's id.
        if profile.served_model_name == profile.model:
            data["served_model_name"] = model_id
        data["model"] = model_id
    if tensor_parallel_size is not None:
        data["tensor_parallel_size"] = tensor_parallel_size
    if max_model_len is not None:
        data["max_model_len"] = max_model_len
    if gpu_memory_utilization is not None:
        data["gpu_memory_utilization"] = gpu_memory_utilization
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        names = {"model": "MODEL_ID", "tensor_parallel_size": "VLLM_TP",
                 "max_model_len": "VLLM_MAXLEN", "gpu_memory_utilization": "VLLM_UTIL"}
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            where = names.get(field, field or "profile")
            problems.append(f"{where}: {error['msg']}")
        raise ValueError(
            f"overrides for profile {profile.id!r} are not valid: {'; '.join(problems)}"
        ) from exc
