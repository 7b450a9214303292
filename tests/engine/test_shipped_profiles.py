"""The profiles shipped in profiles/: they load, their names do not clash, and every vLLM profile
fits the plan's host (2x RTX 3090, 24 GiB each) by a rough estimate that needs no other module."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from engine.profiles import Profile, load_profile, load_profiles

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"
FILES = sorted(PROFILES_DIR.glob("*.toml"))
PROFILES = load_profiles(PROFILES_DIR)
VLLM = [p for p in PROFILES.values() if p.engine == "vllm"]

GIB = 1024**3
GPU_GIB = 24  # RTX 3090
OVERHEAD_GIB = 1.0  # CUDA context, activations, graphs: a floor, not a ceiling
PLAN_DEFAULT_MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"
BYTES_PER_PARAMETER = {None: 2.0, "fp8": 1.0, "awq": 0.55, "awq_marlin": 0.55, "gptq": 0.55,
                       "gptq_marlin": 0.55}


def per_gpu_gib(profile: Profile) -> tuple[float, float]:
    """Weights and the KV cache of one max_model_len sequence, per GPU, in GiB."""
    arch = profile.architecture
    assert arch is not None
    tp = profile.tensor_parallel_size
    weights = arch.parameters_b * 1e9 * BYTES_PER_PARAMETER[profile.quantization] / tp
    kv_bytes = 1 if profile.kv_cache_dtype == "fp8" else 2
    kv_per_token = 2 * arch.num_layers * arch.num_kv_heads * arch.head_dim * kv_bytes
    kv = kv_per_token * profile.max_model_len / tp
    return weights / GIB, kv / GIB


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_profile_file_loads(path: Path) -> None:
    profile = load_profile(path)
    assert profile.id == path.stem
    assert profile.aliases, "each profile has a short alias"


def test_there_are_enough_profiles_of_each_engine() -> None:
    engines = Counter(p.engine for p in PROFILES.values())
    assert engines["vllm"] >= 10
    assert engines["llama.cpp"] >= 2


def test_profile_ids_are_unique() -> None:
    ids = [load_profile(path).id for path in FILES]
    assert len(ids) == len(set(ids))


def test_aliases_are_unique_across_profiles() -> None:
    aliases = Counter(alias for p in PROFILES.values() for alias in p.aliases)
    assert [alias for alias, count in aliases.items() if count > 1] == []


def test_every_name_a_client_may_send_picks_one_profile() -> None:
    names = Counter(name for p in PROFILES.values() for name in p.model_names)
    assert [name for name, count in names.items() if count > 1] == []


def test_the_plans_default_model_is_shipped_on_two_gpus() -> None:
    default = [p for p in VLLM if p.model == PLAN_DEFAULT_MODEL]
    assert default, f"{PLAN_DEFAULT_MODEL} is not among the profiles"
    assert any(p.tensor_parallel_size == 2 and p.reasoning_parser == "deepseek_r1" for p in default)


@pytest.mark.parametrize("profile", VLLM, ids=[p.id for p in VLLM])
def test_every_vllm_profile_has_architecture_numbers(profile: Profile) -> None:
    arch = profile.architecture
    assert arch is not None
    assert arch.parameters_b > 0 and arch.num_layers > 0
    assert arch.num_kv_heads > 0 and arch.head_dim > 0
    # Tensor parallelism splits the KV heads; an uneven split would not start.
    assert arch.num_kv_heads % profile.tensor_parallel_size == 0


@pytest.mark.parametrize("profile", VLLM, ids=[p.id for p in VLLM])
def test_every_vllm_profile_says_what_it_is_for(profile: Profile) -> None:
    assert 40 < len(profile.description) < 400


@pytest.mark.parametrize("profile", VLLM, ids=[p.id for p in VLLM])
def test_every_vllm_profile_fits_a_24_gib_gpu_at_its_utilization(profile: Profile) -> None:
    weights, kv = per_gpu_gib(profile)
    budget = GPU_GIB * profile.gpu_memory_utilization - OVERHEAD_GIB
    assert weights + kv < budget, (
        f"{profile.id}: {weights:.1f} GiB weights + {kv:.1f} GiB KV per GPU"
        f" > {budget:.1f} GiB budget at utilization {profile.gpu_memory_utilization}"
    )


@pytest.mark.parametrize("profile", VLLM, ids=[p.id for p in VLLM])
def test_every_vllm_profile_stays_on_the_plans_two_gpus(profile: Profile) -> None:
    assert profile.tensor_parallel_size <= 2
    if profile.gpus is not None:
        assert set(profile.gpus) <= {0, 1}


def test_the_plans_start_values_would_not_fit() -> None:
    """Why the default profile does not use the plan's utilization 0.55."""
    default = next(p for p in VLLM if p.model == PLAN_DEFAULT_MODEL)
    plan = default.model_copy(update={"gpu_memory_utilization": 0.55, "max_model_len": 8192})
    weights, kv = per_gpu_gib(plan)
    assert weights + kv > GPU_GIB * 0.55 - OVERHEAD_GIB


def test_only_one_profile_is_pinned_to_gpu1() -> None:
    pinned = [p for p in VLLM if p.gpus is not None]
    assert [(p.id, p.gpus) for p in pinned] == [("qwen2.5-14b-instruct-awq-gpu1", [1])]
    assert "GPU0" in pinned[0].description


def test_reasoning_models_have_their_parser() -> None:
    parsers = {p.id: p.reasoning_parser for p in VLLM if p.reasoning_parser}
    assert parsers == {"deepseek-r1-distill-qwen-14b": "deepseek_r1", "qwen3-8b": "qwen3"}


def test_the_two_cpu_profiles_share_one_model_file() -> None:
    cpu = PROFILES["smollm2-135m-cpu"]
    precise = PROFILES["smollm2-135m-cpu-precise"]
    assert precise.model_file == cpu.model_file
    assert (precise.served_model_name, precise.max_model_len) == ("smollm2-135m-precise", 4096)
    assert precise.sampling.temperature == 0.2
    assert precise.aliases == ["smollm2-precise"]
