"""Engine command lines built from profiles: vLLM flags and environment, llama.cpp argv, and the
plan's MODEL_ID / VLLM_TP / VLLM_MAXLEN / VLLM_UTIL overrides."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.commands import LaunchSpec, apply_overrides, llama_cpp_launch, vllm_launch
from engine.profiles import Profile, load_profiles

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"
SHIPPED = load_profiles(PROFILES_DIR)
VLLM_PROFILES = [p for p in SHIPPED.values() if p.engine == "vllm"]
PORT = 18000
KEY = "engine-key-for-this-test"


def value(argv: list[str], flag: str) -> str:
    assert argv.count(flag) == 1, f"{flag} given {argv.count(flag)} times in {argv}"
    return argv[argv.index(flag) + 1]


def values(argv: list[str], flag: str) -> list[str]:
    """Every word after flag up to the next --flag (for nargs='+' flags)."""
    start = argv.index(flag) + 1
    end = next((i for i in range(start, len(argv)) if argv[i].startswith("--")), len(argv))
    return argv[start:end]


def launch(profile: Profile, *, profiles_dir: Path = PROFILES_DIR, hf_home: Path | None = None,
           hf_token: str | None = None) -> LaunchSpec:
    return vllm_launch(profile, port=PORT, profiles_dir=profiles_dir, hf_home=hf_home,
                       hf_token=hf_token, api_key=KEY)


def vllm_profile(**changes: object) -> Profile:
    data: dict[str, object] = {
        "id": "test-vllm", "name": "Test", "engine": "vllm", "served_model_name": "org/model",
        "model": "org/model", "max_model_len": 4096, "aliases": ["tm"],
        "architecture": {"parameters_b": 7.0, "num_layers": 32, "num_kv_heads": 8, "head_dim": 128},
    }
    data.update(changes)
    return Profile.model_validate(data)


@pytest.fixture
def cpu_profile() -> Profile:
    return SHIPPED["smollm2-135m-cpu"]


# --- vLLM -------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", VLLM_PROFILES, ids=[p.id for p in VLLM_PROFILES])
def test_each_shipped_vllm_profile_becomes_its_exact_flags(profile: Profile) -> None:
    argv = launch(profile).argv
    assert argv[:3] == [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]
    assert value(argv, "--model") == profile.model
    assert value(argv, "--host") == "127.0.0.1"
    assert value(argv, "--port") == str(PORT)
    assert value(argv, "--dtype") == profile.dtype
    assert value(argv, "--tensor-parallel-size") == str(profile.tensor_parallel_size)
    assert value(argv, "--max-model-len") == str(profile.max_model_len)
    assert value(argv, "--gpu-memory-utilization") == str(profile.gpu_memory_utilization)
    names = values(argv, "--served-model-name")
    assert names[0] == profile.served_model_name
    assert set(profile.aliases) <= set(names)
    if profile.reasoning_parser:
        assert value(argv, "--reasoning-parser") == profile.reasoning_parser
    else:
        assert "--reasoning-parser" not in argv
    if profile.quantization:
        assert value(argv, "--quantization") == profile.quantization
    else:
        assert "--quantization" not in argv
    if profile.max_num_seqs:
        assert value(argv, "--max-num-seqs") == str(profile.max_num_seqs)
    assert "--swap-space" not in argv  # current vLLM refuses it


def test_the_plans_default_model_gets_its_values_as_strings() -> None:
    argv = launch(SHIPPED["deepseek-r1-distill-qwen-14b"]).argv
    assert value(argv, "--model") == "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"
    assert value(argv, "--dtype") == "float16"
    assert value(argv, "--tensor-parallel-size") == "2"
    assert value(argv, "--max-model-len") == "8192"
    assert value(argv, "--gpu-memory-utilization") == "0.9"
    assert value(argv, "--reasoning-parser") == "deepseek_r1"


def test_served_model_names_are_every_name_of_the_profile() -> None:
    profile = vllm_profile(served_model_name="served", aliases=["one", "two"])
    argv = launch(profile).argv
    assert values(argv, "--served-model-name") == ["served", "test-vllm", "one", "two"]


def test_the_gpu1_profile_sees_only_gpu1() -> None:
    spec = launch(SHIPPED["qwen2.5-14b-instruct-awq-gpu1"])
    assert spec.env["CUDA_VISIBLE_DEVICES"] == "1"
    assert spec.env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_pinned_gpus_are_joined_with_commas() -> None:
    spec = launch(vllm_profile(gpus=[2, 3], tensor_parallel_size=2))
    assert spec.env["CUDA_VISIBLE_DEVICES"] == "2,3"


def test_unpinned_profiles_leave_cuda_visible_devices_alone() -> None:
    unpinned = [p for p in VLLM_PROFILES if p.gpus is None]
    assert unpinned
    for profile in unpinned:
        assert "CUDA_VISIBLE_DEVICES" not in launch(profile).env


def test_hugging_face_token_and_home_reach_the_engine(tmp_path: Path) -> None:
    spec = launch(vllm_profile(), hf_home=tmp_path / "hf", hf_token="hf_secret")
    assert spec.env["HF_TOKEN"] == "hf_secret"
    assert spec.env["HUGGING_FACE_HUB_TOKEN"] == "hf_secret"
    assert spec.env["HF_HOME"] == str(tmp_path / "hf")
    assert "hf_secret" not in spec.argv  # never on a command line that `ps` shows


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
def test_no_token_adds_no_token_variables(token: str | None) -> None:
    spec = launch(vllm_profile(), hf_token=token)
    assert spec.env == {"VLLM_API_KEY": KEY}


def test_vllm_gets_the_engine_key_by_environment_not_argv() -> None:
    spec = launch(vllm_profile())
    assert spec.env["VLLM_API_KEY"] == KEY
    assert KEY not in " ".join(spec.argv)


def test_optional_flags_are_left_out_when_unset() -> None:
    argv = launch(vllm_profile()).argv
    for flag in ("--quantization", "--kv-cache-dtype", "--max-num-seqs", "--chat-template",
                 "--reasoning-parser"):
        assert flag not in argv


def test_optional_flags_are_passed_when_set() -> None:
    profile = vllm_profile(quantization="awq_marlin", kv_cache_dtype="fp8", max_num_seqs=32,
                           reasoning_parser="qwen3", extra_args=["--enforce-eager", "--seed", "7"])
    argv = launch(profile).argv
    assert value(argv, "--quantization") == "awq_marlin"
    assert value(argv, "--kv-cache-dtype") == "fp8"
    assert value(argv, "--max-num-seqs") == "32"
    assert value(argv, "--reasoning-parser") == "qwen3"
    assert argv[-3:] == ["--enforce-eager", "--seed", "7"]


def test_a_relative_chat_template_is_found_next_to_the_profiles(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "chat.jinja").write_text("{{ messages }}")
    argv = launch(vllm_profile(chat_template="templates/chat.jinja"), profiles_dir=tmp_path).argv
    assert value(argv, "--chat-template") == str(tmp_path / "templates" / "chat.jinja")


def test_an_absolute_chat_template_is_used_as_is(tmp_path: Path) -> None:
    template = tmp_path / "chat.jinja"
    template.write_text("{{ messages }}")
    argv = launch(vllm_profile(chat_template=str(template)), profiles_dir=tmp_path / "elsewhere").argv
    assert value(argv, "--chat-template") == str(template)


def test_a_missing_chat_template_is_refused_naming_the_file(tmp_path: Path) -> None:
    profile = vllm_profile(chat_template="missing.jinja")
    with pytest.raises(ValueError, match=r"missing\.jinja") as info:
        launch(profile, profiles_dir=tmp_path)
    assert str(tmp_path / "missing.jinja") in str(info.value)


def test_a_llama_cpp_profile_is_not_launched_as_vllm(cpu_profile: Profile) -> None:
    with pytest.raises(ValueError, match="not a vLLM profile"):
        launch(cpu_profile)


# --- llama.cpp --------------------------------------------------------------------------------


def test_llama_cpp_serves_on_loopback_without_interrupting_requests(
    cpu_profile: Profile, tmp_path: Path
) -> None:
    spec = llama_cpp_launch(cpu_profile, port=18123, model_path=tmp_path / "m.gguf", api_key=KEY)
    argv = spec.argv
    assert argv[:3] == [sys.executable, "-m", "llama_cpp.server"]
    assert value(argv, "--interrupt_requests") == "False"
    assert value(argv, "--host") == "127.0.0.1"
    assert value(argv, "--port") == "18123"
    assert value(argv, "--n_ctx") == str(cpu_profile.max_model_len) == "2048"
    assert value(argv, "--model") == str(tmp_path / "m.gguf")
    assert value(argv, "--model_alias") == "smollm2-135m-instruct"
    assert "--n_threads" not in argv and "--n_batch" not in argv
    # The key and the address by environment: llama-cpp-python lets HOST/PORT beat --host/--port.
    assert spec.env == {"API_KEY": KEY, "HOST": "127.0.0.1", "PORT": "18123"}
    assert KEY not in " ".join(argv)


def test_llama_cpp_threads_and_batch_come_from_the_profile(cpu_profile: Profile, tmp_path: Path) -> None:
    profile = Profile.model_validate(
        {**cpu_profile.model_dump(), "llama_cpp": {"n_threads": 4, "n_batch": 256}})
    argv = llama_cpp_launch(profile, port=1, model_path=tmp_path / "m.gguf", api_key=KEY).argv
    assert value(argv, "--n_threads") == "4"
    assert value(argv, "--n_batch") == "256"


def test_llama_cpp_context_follows_the_precise_profile(tmp_path: Path) -> None:
    argv = llama_cpp_launch(SHIPPED["smollm2-135m-cpu-precise"], port=1, model_path=tmp_path / "m",
                            api_key=KEY).argv
    assert value(argv, "--n_ctx") == "4096"
    assert value(argv, "--model_alias") == "smollm2-135m-precise"


# --- overrides --------------------------------------------------------------------------------


def no_overrides() -> dict[str, None]:
    return {"model_id": None, "tensor_parallel_size": None, "max_model_len": None,
            "gpu_memory_utilization": None}


def test_no_override_returns_an_equal_profile() -> None:
    profile = SHIPPED["deepseek-r1-distill-qwen-14b"]
    assert apply_overrides(profile, **no_overrides()) == profile


def test_the_plans_env_values_override_the_active_vllm_profile() -> None:
    profile = SHIPPED["qwen2.5-7b-instruct"]
    changed = apply_overrides(profile, model_id="Qwen/Qwen2.5-7B-Instruct-AWQ", tensor_parallel_size=2,
                              max_model_len=8192, gpu_memory_utilization=0.75)
    assert changed.model == "Qwen/Qwen2.5-7B-Instruct-AWQ"
    assert changed.served_model_name == "Qwen/Qwen2.5-7B-Instruct-AWQ"  # followed the model id
    assert (changed.tensor_parallel_size, changed.max_model_len, changed.gpu_memory_utilization) == (
        2, 8192, 0.75)
    assert changed.aliases == profile.aliases and changed.id == profile.id
    argv = launch(changed).argv
    assert value(argv, "--model") == "Qwen/Qwen2.5-7B-Instruct-AWQ"
    assert value(argv, "--tensor-parallel-size") == "2"
    assert value(argv, "--max-model-len") == "8192"
    assert value(argv, "--gpu-memory-utilization") == "0.75"
    assert profile.model == "Qwen/Qwen2.5-7B-Instruct"  # the loaded profile is untouched


def test_a_custom_served_name_survives_a_model_override() -> None:
    profile = SHIPPED["llama-3.1-8b-instruct-64k"]
    changed = apply_overrides(profile, **{**no_overrides(), "model_id": "org/other"})
    assert changed.model == "org/other"
    assert changed.served_model_name == "llama-3.1-8b-instruct-64k"


@pytest.mark.parametrize(("override", "word"), [
    ({"gpu_memory_utilization": 1.5}, "VLLM_UTIL"),
    ({"gpu_memory_utilization": 0.0}, "VLLM_UTIL"),
    ({"tensor_parallel_size": 0}, "VLLM_TP"),
    ({"max_model_len": 64}, "VLLM_MAXLEN"),
    ({"model_id": "  "}, "MODEL_ID"),
], ids=["util-above-1", "util-zero", "tp-zero", "maxlen-too-small", "empty-model-id"])
def test_invalid_override_values_are_refused_naming_the_variable(override: dict[str, object],
                                                                   word: str) -> None:
    with pytest.raises(ValueError, match=word):
        apply_overrides(SHIPPED["deepseek-r1-distill-qwen-14b"], **{**no_overrides(), **override})


def test_a_tp_larger_than_the_pinned_gpus_is_refused() -> None:
    with pytest.raises(ValueError, match="gpus"):
        apply_overrides(SHIPPED["qwen2.5-14b-instruct-awq-gpu1"], **{**no_overrides(),
                                                                      "tensor_parallel_size": 2})


@pytest.mark.parametrize(("override", "name"), [
    ({"model_id": "org/model"}, "MODEL_ID"),
    ({"tensor_parallel_size": 2}, "VLLM_TP"),
    ({"gpu_memory_utilization": 0.5}, "VLLM_UTIL"),
], ids=["model-id", "tp", "util"])
def test_vllm_only_overrides_on_a_llama_cpp_profile_are_refused(
    cpu_profile: Profile, override: dict[str, object], name: str
) -> None:
    with pytest.raises(ValueError, match=rf"{name} does not apply .*llama\.cpp"):
        apply_overrides(cpu_profile, **{**no_overrides(), **override})


def test_every_refused_override_is_named_at_once(cpu_profile: Profile) -> None:
    with pytest.raises(ValueError, match="MODEL_ID, VLLM_TP, VLLM_UTIL do not apply"):
        apply_overrides(cpu_profile, model_id="org/model", tensor_parallel_size=2, max_model_len=None,
                        gpu_memory_utilization=0.5)


def test_the_context_length_override_applies_to_llama_cpp(cpu_profile: Profile, tmp_path: Path) -> None:
    changed = apply_overrides(cpu_profile, **{**no_overrides(), "max_model_len": 4096})
    assert changed.max_model_len == 4096
    argv = llama_cpp_launch(changed, port=1, model_path=tmp_path / "m.gguf", api_key=KEY).argv
    assert value(argv, "--n_ctx") == "4096"


def test_no_override_applies_to_a_remote_profile() -> None:
    remote = Profile.model_validate({
        "id": "remote", "name": "Remote", "engine": "remote", "served_model_name": "m",
        "max_model_len": 4096, "remote": {"base_urls": ["http://10.0.0.2:8000"]},
    })
    with pytest.raises(ValueError, match="VLLM_MAXLEN does not apply"):
        apply_overrides(remote, **{**no_overrides(), "max_model_len": 8192})


def test_vllm_runs_on_the_python_it_is_given() -> None:
    """vLLM lives in a venv of its own (its web stack clashes with the app's pins)."""
    spec = vllm_launch(vllm_profile(), python=Path("/srv/.venv-vllm/bin/python"), port=PORT,
                       profiles_dir=PROFILES_DIR, hf_home=None, hf_token=None, api_key="k")
    assert spec.argv[:3] == ["/srv/.venv-vllm/bin/python", "-m",
                             "vllm.entrypoints.openai.api_server"]
    assert launch(vllm_profile()).argv[0] == sys.executable  # without: the app's own
