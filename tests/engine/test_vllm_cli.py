"""Every vLLM profile's command line against vLLM's own parser, as recorded from the pinned
vLLM by scripts/check_vllm_cli.py (engine/vllm_cli.json): runs without vLLM and without a GPU."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from conftest import ROOT
from helpers import SHIPPED_PROFILES

from engine.commands import vllm_launch
from engine.profiles import Dtype, Profile, Quantization, load_profiles
from engine.vllm_cli import VllmCli

CLI = VllmCli.load()
ARGV_PORT = 18000  # a value in the command line only: nothing listens on it
VLLM_PROFILES = [p for p in load_profiles(SHIPPED_PROFILES).values() if p.engine == "vllm"]


def engine_args(profile: Profile) -> list[str]:
    """The argv after `python -m vllm.entrypoints.openai.api_server`."""
    argv = vllm_launch(profile, port=ARGV_PORT, profiles_dir=SHIPPED_PROFILES, hf_home=None,
                       hf_token=None, api_key="x").argv
    assert argv[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    return argv[3:]


def test_the_recorded_table_is_of_the_pinned_vllm() -> None:
    pinned = re.search(r"^vllm==(\S+)$", (ROOT / "requirements-gpu.txt").read_text(), re.M)
    assert pinned and CLI.version == pinned[1], "run scripts/check_vllm_cli.py --record"
    assert len(CLI.options) > 300 and "--model" in CLI.options


@pytest.mark.parametrize("profile", VLLM_PROFILES, ids=lambda p: p.id)
def test_every_vllm_profile_is_taken_by_vllms_parser(profile: Profile) -> None:
    assert CLI.problems(engine_args(profile)) == []


def test_every_value_a_profile_may_choose_is_one_vllm_knows() -> None:
    for dtype in get_args(Dtype):
        assert CLI.problems(["--dtype", dtype]) == [], dtype
    for method in get_args(Quantization):
        assert CLI.problems(["--quantization", method]) == [], method
    kv_dtypes = get_args(Profile.model_fields["kv_cache_dtype"].annotation)
    for kv in kv_dtypes:
        assert CLI.problems(["--kv-cache-dtype", kv]) == [], kv


@pytest.mark.parametrize(("args", "complaint"), [
    (["--swap-space", "4"], "unrecognized argument --swap-space"),
    (["--dtype", "fp64"], "invalid choice 'fp64'"),
    (["--quantization", "awq4"], "has no 'awq4'"),
    (["--kv-cache-dtype", "int3"], "has no 'int3'"),
    (["--reasoning-parser", "deepseek-r1"], "has no 'deepseek-r1'"),
    (["--max-model-len"], "expected one argument"),
    (["--served-model-name"], "expected at least one argument"),
])
def test_what_vllm_would_refuse_is_found(args: list[str], complaint: str) -> None:
    """Each refused by vLLM 0.33.0 itself: by its parser (an option it lacks, a choice it lacks,
    a missing value), by the config it builds when loading (a quantization method, a KV cache
    dtype) or by its reasoning parser lookup."""
    assert any(complaint in problem for problem in CLI.problems(args)), CLI.problems(args)


def test_vllms_own_spellings_are_taken() -> None:
    assert CLI.problems(["--max_model_len", "4096", "--gpu-memory-utilization=0.9",
                         "--enforce-eager", "--disable-prefix-caching", "--seed", "-1",
                         "--served-model-name", "a", "b", "--reasoning-parser", "qwen3"]) == []


def test_a_stray_value_is_refused_although_vllm_would_take_it_as_the_model() -> None:
    """Stricter than vLLM, whose parser takes one bare value as the model: the app always
    passes --model, so a bare value is a mistake in a profile's extra_args."""
    assert CLI.problems(["--enforce-eager", "yes"]) == ["unexpected value 'yes'"]


def test_an_extra_arg_vllm_does_not_have_fails_the_profile() -> None:
    profile = VLLM_PROFILES[0].model_copy(update={"extra_args": ["--swap-space", "4"]})
    assert CLI.problems(engine_args(profile))
