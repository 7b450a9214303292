"""The fit check, with worked numbers for the plan's models on 24 GiB cards (RTX 3090 class).

Where a verdict names a fix, the test applies the fix and checks that the profile then fits:
a fix that does not work is a failure too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.fit import (
    GIB,
    FitVerdict,
    estimate,
    kv_bytes_per_token_per_gpu,
    kv_dtype_bytes,
    kv_heads_per_gpu,
    summary,
    weight_bytes,
)
from engine.hardware import GpuInfo, GpuProcess
from engine.profiles import Profile


def kv_bytes_per_token(profile: Profile) -> int:
    """K and V for one token, all layers, all KV heads: the whole model, on one GPU or many."""
    assert profile.architecture is not None
    arch = profile.architecture
    return 2 * arch.num_layers * arch.num_kv_heads * arch.head_dim * kv_dtype_bytes(profile)


LLAMA_8B = {"parameters_b": 8.03, "num_layers": 32, "num_kv_heads": 8, "head_dim": 128}
R1_QWEN_14B = {"parameters_b": 14.77, "num_layers": 48, "num_kv_heads": 8, "head_dim": 128}
QWEN_32B = {"parameters_b": 32.76, "num_layers": 64, "num_kv_heads": 8, "head_dim": 128}
LLAMA_70B = {"parameters_b": 70.6, "num_layers": 80, "num_kv_heads": 8, "head_dim": 128}


def vllm_profile(architecture: dict[str, Any], **fields: Any) -> Profile:
    data: dict[str, Any] = {
        "id": "test-model", "name": "Test model", "engine": "vllm", "served_model_name": "test-model",
        "model": "org/test-model", "max_model_len": 8192, "architecture": architecture,
    }
    return Profile.model_validate(data | fields)


def with_fields(profile: Profile, **fields: Any) -> Profile:
    """The profile with a suggested fix applied."""
    return Profile.model_validate(profile.model_dump() | fields)


def rtx_3090(index: int, used_bytes: int = 0, processes: list[GpuProcess] | None = None) -> GpuInfo:
    total = 24 * GIB
    return GpuInfo(index=index, name="NVIDIA GeForce RTX 3090", memory_total_bytes=total,
                   memory_used_bytes=used_bytes, memory_free_bytes=total - used_bytes,
                   processes=processes or [])


def fix_value(verdict: FitVerdict, prefix: str) -> str:
    assert verdict.first_fix is not None and verdict.first_fix.startswith(prefix), verdict.first_fix
    return verdict.first_fix.removeprefix(prefix)


# -- sizes ------------------------------------------------------------------------------------


def test_llama_8b_bf16_kv_is_128_kib_per_token() -> None:
    profile = vllm_profile(LLAMA_8B, dtype="bfloat16")

    assert kv_bytes_per_token(profile) == 131072  # 2 x 32 layers x 8 heads x 128 x 2 bytes
    assert kv_bytes_per_token_per_gpu(profile) == 131072


def test_fp8_kv_cache_halves_kv_bytes() -> None:
    assert kv_bytes_per_token(vllm_profile(LLAMA_8B, kv_cache_dtype="fp8")) == 65536


def test_kv_heads_are_split_over_tensor_parallel_gpus() -> None:
    profile = vllm_profile(R1_QWEN_14B, tensor_parallel_size=2)

    assert kv_heads_per_gpu(profile) == 4
    assert kv_bytes_per_token(profile) == 196608
    assert kv_bytes_per_token_per_gpu(profile) == 196608 // 2


def test_kv_heads_fewer_than_gpus_are_replicated_not_split_below_one() -> None:
    two_kv_heads = {"parameters_b": 9.0, "num_layers": 40, "num_kv_heads": 2, "head_dim": 128}
    profile = vllm_profile(two_kv_heads, tensor_parallel_size=4)

    assert kv_heads_per_gpu(profile) == 1
    # Each of the 4 GPUs holds one whole head: half the model's KV, not a quarter.
    assert kv_bytes_per_token_per_gpu(profile) == 2 * 40 * 1 * 128 * 2
    assert kv_bytes_per_token_per_gpu(profile) == kv_bytes_per_token(profile) // 2


@pytest.mark.parametrize(("fields", "bytes_per_parameter"), [
    ({"dtype": "bfloat16"}, 2.0),
    ({"dtype": "float16"}, 2.0),
    ({"dtype": "auto"}, 2.0),
    ({"quantization": "fp8"}, 1.0),
    ({"quantization": "awq"}, 0.6),  # 0.5 bytes plus 20% for scales, zeros and 16-bit embeddings
    ({"quantization": "awq_marlin"}, 0.6),
    ({"quantization": "gptq"}, 0.6),
    ({"quantization": "gptq_marlin"}, 0.6),
])
def test_weight_bytes_by_dtype_and_quantization(fields: dict[str, Any], bytes_per_parameter: float) -> None:
    assert weight_bytes(vllm_profile(LLAMA_8B, **fields)) == pytest.approx(8.03e9 * bytes_per_parameter)


# -- verdicts ---------------------------------------------------------------------------------


def test_plan_default_14b_fp16_tp2_at_055_does_not_fit_two_24_gib_cards() -> None:
    profile = vllm_profile(R1_QWEN_14B, dtype="float16", tensor_parallel_size=2,
                           gpu_memory_utilization=0.55)

    verdict = estimate(profile, [rtx_3090(0), rtx_3090(1)])

    assert not verdict.fits
    line = verdict.per_gpu[0]
    assert line.weights_bytes == pytest.approx(14.77e9)  # 13.8 GiB: half of 29.5 GB
    assert line.budget_bytes == pytest.approx(0.55 * 24 * GIB)  # 13.2 GiB
    assert line.weights_bytes > line.budget_bytes
    assert verdict.kv_tokens_capacity == 0
    assert verdict.reasons[0] == ("GPU0: weights 13.8 GiB + overhead 1.5 GiB exceed the 13.2 GiB budget "
                                  "(0.55 x 24.0 GiB)")
    utilization = float(fix_value(verdict, "raise gpu_memory_utilization to "))
    assert utilization == 0.67
    assert summary(verdict) == "does not fit: 2.8 GiB short on GPU0 — raise gpu_memory_utilization to 0.67"
    assert estimate(with_fields(profile, gpu_memory_utilization=utilization), [rtx_3090(0), rtx_3090(1)]).fits
    assert not estimate(with_fields(profile, gpu_memory_utilization=utilization - 0.01),
                        [rtx_3090(0), rtx_3090(1)]).fits


def test_plan_default_14b_fp16_tp2_at_090_fits() -> None:
    profile = vllm_profile(R1_QWEN_14B, dtype="float16", tensor_parallel_size=2,
                           gpu_memory_utilization=0.90)

    verdict = estimate(profile, [rtx_3090(0), rtx_3090(1)])

    assert verdict.fits and verdict.first_fix is None
    # 21.6 GiB budget - 13.8 weights - 1.5 overhead - 0.75 KV (8192 tokens x 96 KiB)
    assert verdict.margin_bytes == pytest.approx(21.6 * GIB - 14.77e9 - 1.5 * GIB - 0.75 * GIB)
    assert summary(verdict) == "fits with 5.6 GiB to spare"
    assert [line.index for line in verdict.per_gpu] == [0, 1]


def test_8b_at_128k_context_suggests_a_max_model_len_that_fits() -> None:
    profile = vllm_profile(LLAMA_8B, dtype="bfloat16", max_model_len=131072, gpu_memory_utilization=0.90)

    verdict = estimate(profile, [rtx_3090(0)])

    assert not verdict.fits
    assert verdict.per_gpu[0].kv_bytes == 16 * GIB  # 131072 tokens x 128 KiB
    # 21.6 GiB budget - 15.0 GiB weights - 1.0 GiB overhead = 5.64 GiB: room for 46227 tokens.
    assert verdict.kv_tokens_capacity == 46227
    length = int(fix_value(verdict, "lower max_model_len to "))
    assert length == 46080 and length % 256 == 0
    assert estimate(with_fields(profile, max_model_len=length), [rtx_3090(0)]).fits
    assert not estimate(with_fields(profile, max_model_len=length + 256), [rtx_3090(0)]).fits
    assert "one 131072-token sequence needs 16.0 GiB of KV cache" in verdict.reasons[0]


def test_busy_gpu0_with_a_free_gpu1_suggests_pinning_to_gpu1() -> None:
    desktop = [GpuProcess(pid=1234, used_memory_bytes=20 * GIB, name="/usr/lib/xorg/Xorg")]
    gpus = [rtx_3090(0, used_bytes=20 * GIB, processes=desktop), rtx_3090(1)]
    profile = vllm_profile(LLAMA_8B, dtype="bfloat16")

    verdict = estimate(profile, gpus)

    assert not verdict.fits
    assert verdict.per_gpu[0].fits_budget and not verdict.per_gpu[0].enough_free
    assert verdict.first_fix == "pin to GPU1 (set gpus = [1])"
    assert summary(verdict) == ("does not fit: GPU0 has only 4.0 GiB free, needs 22.1 GiB — "
                                "pin to GPU1 (set gpus = [1])")
    assert estimate(with_fields(profile, gpus=[1]), gpus).fits


def test_desktop_on_the_only_gpu_suggests_a_lower_utilization() -> None:
    gpus = [rtx_3090(0, used_bytes=int(1.5 * GIB))]  # 22.5 GiB free
    profile = vllm_profile(LLAMA_8B, dtype="bfloat16", gpu_memory_utilization=0.95)

    verdict = estimate(profile, gpus)

    assert not verdict.fits
    # (22.5 GiB free - 0.5 GiB for vLLM's CUDA context) / 24 GiB = 0.916..., rounded down.
    utilization = float(fix_value(verdict, "lower gpu_memory_utilization to "))
    assert utilization == 0.91
    assert estimate(with_fields(profile, gpu_memory_utilization=utilization), gpus).fits


def test_gpu_too_busy_for_any_utilization_names_what_uses_it() -> None:
    desktop = [GpuProcess(pid=1234, used_memory_bytes=20 * GIB, name="/usr/lib/xorg/Xorg")]
    profile = vllm_profile(LLAMA_8B, dtype="bfloat16")

    verdict = estimate(profile, [rtx_3090(0, used_bytes=20 * GIB, processes=desktop)])

    assert not verdict.fits
    assert verdict.first_fix == "free memory on GPU0: other processes use 20.0 GiB (/usr/lib/xorg/Xorg)"


def test_32b_awq_fits_one_24_gib_card_at_092_with_8k_context() -> None:
    profile = vllm_profile(QWEN_32B, quantization="awq", gpu_memory_utilization=0.92)

    verdict = estimate(profile, [rtx_3090(0)])

    assert verdict.fits, verdict.reasons
    assert verdict.per_gpu[0].weights_bytes == pytest.approx(32.76e9 * 0.6)  # 18.3 GiB
    assert verdict.margin_bytes is not None and 0 < verdict.margin_bytes < 1 * GIB
    assert verdict.kv_tokens_capacity is not None and 8192 < verdict.kv_tokens_capacity < 16384


def test_32b_awq_at_16k_context_suggests_a_shorter_one() -> None:
    profile = vllm_profile(QWEN_32B, quantization="awq", gpu_memory_utilization=0.92, max_model_len=16384)

    verdict = estimate(profile, [rtx_3090(0)])

    assert not verdict.fits
    assert verdict.first_fix == "lower max_model_len to 11264"


def test_16bit_model_too_big_for_the_card_suggests_4bit() -> None:
    profile = vllm_profile(R1_QWEN_14B, dtype="float16")  # 27.5 GiB of weights on one 24 GiB card

    verdict = estimate(profile, [rtx_3090(0)])

    assert not verdict.fits
    assert verdict.first_fix == "use a 4-bit AWQ/GPTQ profile"
    assert estimate(with_fields(profile, quantization="awq"), [rtx_3090(0)]).fits


def test_4bit_model_too_big_for_one_card_suggests_more_gpus() -> None:
    profile = vllm_profile(LLAMA_70B, quantization="awq")  # 39.5 GiB of weights

    verdict = estimate(profile, [rtx_3090(0)])

    assert not verdict.fits
    assert verdict.first_fix == "use more GPUs (tensor_parallel_size 4)"
    four = [rtx_3090(index) for index in range(4)]
    assert estimate(with_fields(profile, tensor_parallel_size=4), four).fits
    assert not estimate(with_fields(profile, tensor_parallel_size=2), four[:2]).fits


def test_tensor_parallel_2_with_one_gpu_says_not_enough_gpus() -> None:
    profile = vllm_profile(LLAMA_8B, tensor_parallel_size=2)

    verdict = estimate(profile, [rtx_3090(0)])

    assert not verdict.fits and verdict.per_gpu == []
    assert verdict.reasons == ["tensor_parallel_size 2 needs 2 GPUs, 1 found"]
    assert verdict.first_fix == "lower tensor_parallel_size to 1 or add GPUs"
    assert summary(verdict).startswith("does not fit: tensor_parallel_size 2 needs 2 GPUs, 1 found")


def test_pinned_gpu_that_is_not_present_is_reported() -> None:
    profile = vllm_profile(LLAMA_8B, gpus=[3])

    verdict = estimate(profile, [rtx_3090(0), rtx_3090(1)])

    assert not verdict.fits
    assert verdict.reasons == ["gpus = [3] names GPU3, which is not present"]


def test_pinned_gpus_are_the_ones_checked() -> None:
    gpus = [rtx_3090(0, used_bytes=20 * GIB), rtx_3090(1)]

    verdict = estimate(vllm_profile(LLAMA_8B, gpus=[1]), gpus)

    assert verdict.fits and [line.index for line in verdict.per_gpu] == [1]


def test_worst_gpu_decides_the_margin_on_mixed_cards() -> None:
    small = GpuInfo(index=1, name="NVIDIA RTX A4000", memory_total_bytes=16 * GIB,
                    memory_used_bytes=0, memory_free_bytes=16 * GIB)
    profile = vllm_profile(R1_QWEN_14B, dtype="float16", tensor_parallel_size=2)

    verdict = estimate(profile, [rtx_3090(0), small])

    assert not verdict.fits
    assert verdict.margin_bytes == pytest.approx(verdict.per_gpu[1].margin_bytes)
    assert verdict.margin_bytes is not None and verdict.margin_bytes < 0 < verdict.per_gpu[0].margin_bytes
    assert "short on GPU1" in summary(verdict)


def test_vllm_profile_on_a_cpu_only_machine_says_no_gpu() -> None:
    verdict = estimate(vllm_profile(LLAMA_8B), [])

    assert not verdict.fits
    assert verdict.per_gpu == [] and verdict.margin_bytes is None
    assert verdict.reasons == ["no GPU: vLLM needs 1 NVIDIA GPU and none can be read here"]
    assert summary(verdict) == "does not fit: no GPU — use a llama.cpp (CPU) profile on this machine"


@pytest.mark.parametrize("gpus", [[], [rtx_3090(0)]])
def test_llama_cpp_profile_always_fits(gpus: list[GpuInfo]) -> None:
    profile = Profile.model_validate({
        "id": "tiny-cpu", "name": "Tiny", "engine": "llama.cpp", "served_model_name": "tiny",
        "max_model_len": 2048, "model_file": {"path": "tiny.gguf"},
    })

    verdict = estimate(profile, gpus)

    assert verdict.fits and verdict.first_fix is None
    assert verdict.reasons == ["llama.cpp runs on the CPU: no GPU needed"]
    assert summary(verdict) == "fits: llama.cpp runs on the CPU: no GPU needed"


def test_remote_profile_always_fits() -> None:
    profile = Profile.model_validate({
        "id": "remote-pair", "name": "Remote", "engine": "remote", "served_model_name": "big",
        "max_model_len": 32768, "remote": {"base_urls": ["http://10.0.0.5:8000"]},
    })

    verdict = estimate(profile, [])

    assert verdict.fits
    assert "no GPU needed" in verdict.reasons[0]


# -- the verdict in another language ------------------------------------------------------------


def test_a_verdict_reads_in_korean_with_the_numbers_and_setting_names_as_they_are() -> None:
    from ui.i18n import FIT_KO  # the Korean table lives with the UI's; engine/ never imports ui/

    profile = vllm_profile(R1_QWEN_14B, dtype="float16", tensor_parallel_size=2,
                           gpu_memory_utilization=0.55)
    verdict = estimate(profile, [rtx_3090(0), rtx_3090(1)])

    assert summary(verdict, FIT_KO) == ("맞지 않음: GPU0에서 2.8 GiB 부족 — "
                                        "gpu_memory_utilization을 0.67까지 높이세요")
    assert summary(verdict) == "does not fit: 2.8 GiB short on GPU0 — raise gpu_memory_utilization to 0.67"
    assert verdict.reason_phrases[0].render(FIT_KO) == (
        "GPU0: 가중치 13.8 GiB + 오버헤드 1.5 GiB가 예산 13.2 GiB (0.55 x 24.0 GiB)를 넘습니다")
    fits = estimate(with_fields(profile, gpu_memory_utilization=0.90), [rtx_3090(0), rtx_3090(1)])
    assert summary(fits, FIT_KO) == "맞음: 여유 5.6 GiB"


def test_every_kind_of_verdict_reads_in_korean() -> None:
    from ui.i18n import FIT_KO

    desktop = [GpuProcess(pid=1234, used_memory_bytes=20 * GIB, name="/usr/lib/xorg/Xorg")]
    cases = [
        (vllm_profile(LLAMA_8B, tensor_parallel_size=2), []),
        (vllm_profile(LLAMA_8B, tensor_parallel_size=2), [rtx_3090(0)]),
        (vllm_profile(LLAMA_8B, gpus=[3]), [rtx_3090(0)]),
        (vllm_profile(LLAMA_8B), [rtx_3090(0, used_bytes=20 * GIB, processes=desktop), rtx_3090(1)]),
        (vllm_profile(LLAMA_8B), [rtx_3090(0, used_bytes=20 * GIB, processes=desktop)]),
        (vllm_profile(LLAMA_8B, max_model_len=131072), [rtx_3090(0)]),
        (vllm_profile(LLAMA_70B, quantization="awq"), [rtx_3090(0)]),
    ]
    for profile, gpus in cases:
        verdict = estimate(profile, gpus)
        english = [summary(verdict), *verdict.reasons]
        korean = [summary(verdict, FIT_KO), *(p.render(FIT_KO) for p in verdict.reason_phrases)]
        for line, english_line in zip(korean, english, strict=True):
            assert line != english_line and re.search("[가-힣]", line), line
