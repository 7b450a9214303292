"""Will a profile fit these GPUs? The same two checks vLLM makes when it starts, done beforehand.

vLLM refuses to start when (1) a GPU it uses has less free memory than
`gpu_memory_utilization x total`, or (2) the budget (`utilization x total`) minus the weights and
the activation/CUDA-graph overhead cannot hold the KV cache of one `max_model_len` sequence.
This module estimates both from the numbers in the profile (no hub, no I/O) and names the single
most useful fix. The estimates are deliberately simple; every constant below says where it comes
from, so that a measured number can replace it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from engine.fit_text import FIT_EN, Phrase, fill, say
from engine.hardware import GpuInfo
from engine.profiles import Profile

GIB = 1024**3

# Bytes per parameter of the weights as loaded on the GPU.
BYTES_PER_PARAMETER_16BIT = 2.0  # float16 / bfloat16 ("auto" loads config.json's torch_dtype: 16-bit)
BYTES_PER_PARAMETER_FP8 = 1.0  # fp8 (embeddings and lm_head stay 16-bit: 5-13% more in practice)
BYTES_PER_PARAMETER_4BIT = 0.5
# A 4-bit AWQ/GPTQ checkpoint is bigger than parameters x 0.5 bytes. Scales and zero points
# (group size 128: a 16-bit scale and a 4-bit zero per 128 weights) add about 4%, and the token
# embeddings and lm_head stay 16-bit, which adds most of the rest: for 128k-152k vocabularies that
# is 1.6 GB on a 32B model. Checkpoint sizes against parameters x 0.5 bytes: Qwen2.5-72B-AWQ +14%,
# Qwen2.5-32B-AWQ +18%, Qwen2.5-14B / R1-Distill-Qwen-14B AWQ +35%, Llama-3.1-8B AWQ +43%.
# 20% is right for the 30B-class models that 4-bit puts on one 24 GiB card; it is low for models
# of 14B and below (a 14B AWQ is about 1 GiB bigger than this estimate).
FOUR_BIT_EXTRA = 0.20
FOUR_BIT_QUANTIZATIONS = frozenset({"awq", "awq_marlin", "gptq", "gptq_marlin"})

# Memory inside the budget besides weights and KV: the activation peak of vLLM's profiling run
# (max_num_batched_tokens through the model, plus the sampler's logits), CUDA graphs (vLLM logs
# 0.2-0.7 GiB for 7B-32B models) and non-torch allocations (cuBLAS workspaces). vLLM's start-up
# log ("model weights took X GiB ... non_torch_memory ... torch_peak_increase") comes to about
# 1 GiB per GPU for 7B-32B models at the default batch size.
OVERHEAD_BYTES = 1.0 * GIB
# With tensor parallelism each GPU also holds NCCL buffers and vLLM's custom all-reduce buffers.
TENSOR_PARALLEL_OVERHEAD_BYTES = 0.5 * GIB
# vLLM compares free memory with the budget after its own CUDA context exists (torch reports free
# memory from inside the worker), so a GPU needs this much free beyond the budget, as NVML sees it.
CUDA_CONTEXT_BYTES = 0.5 * GIB

# Limits of the fixes this module suggests.
MAX_SUGGESTED_UTILIZATION = 0.95  # above this, allocation spikes and fragmentation bite
MAX_MODEL_LEN_STEP = 256
MIN_SUGGESTED_MAX_MODEL_LEN = 1024
MORE_GPU_CHOICES = (2, 4, 8)  # tensor parallel sizes that divide common head counts


@dataclass(frozen=True)
class GpuFit:
    """One used GPU: its budget and what the profile needs there, in bytes."""

    index: int
    name: str
    total_bytes: int
    budget_bytes: float  # total x gpu_memory_utilization
    weights_bytes: float
    kv_bytes: float  # one max_model_len sequence
    overhead_bytes: float
    need_bytes: float  # weights + kv + overhead
    free_bytes: int
    required_free_bytes: float  # what vLLM's start check wants free (budget + its CUDA context)
    margin_bytes: float  # budget - need; negative when short

    @property
    def enough_free(self) -> bool:
        return self.free_bytes >= self.required_free_bytes

    @property
    def fits_budget(self) -> bool:
        return self.margin_bytes >= 0


@dataclass(frozen=True)
class FitVerdict:
    fits: bool
    per_gpu: list[GpuFit] = field(default_factory=list)
    margin_bytes: float | None = None  # the worst GPU's budget - need; None when no GPU is involved
    kv_tokens_capacity: int | None = None  # tokens of KV the worst GPU's leftover budget holds
    reason_phrases: list[Phrase] = field(default_factory=list)
    fix_phrase: Phrase | None = None
    problem_phrase: Phrase | None = None  # the main problem in a few words (for `summary`)

    # The English texts, as the REST API and the switch's refusal show them.
    @property
    def reasons(self) -> list[str]:
        return [phrase.render() for phrase in self.reason_phrases]

    @property
    def first_fix(self) -> str | None:
        return self.fix_phrase.render() if self.fix_phrase else None

    @property
    def problem(self) -> str | None:
        return self.problem_phrase.render() if self.problem_phrase else None


def _gib(value: float) -> str:
    return f"{value / GIB:.1f} GiB"


def _gpu(index: int) -> str:
    return f"GPU{index}"


def bytes_per_parameter(profile: Profile) -> float:
    if profile.quantization in FOUR_BIT_QUANTIZATIONS:
        return BYTES_PER_PARAMETER_4BIT * (1 + FOUR_BIT_EXTRA)
    if profile.quantization == "fp8":
        return BYTES_PER_PARAMETER_FP8
    return BYTES_PER_PARAMETER_16BIT


def _architecture(profile: Profile) -> tuple[float, int, int, int]:
    arch = profile.architecture
    if arch is None:
        raise ValueError(f"profile {profile.id!r} has no architecture numbers")
    return arch.parameters_b, arch.num_layers, arch.num_kv_heads, arch.head_dim


def weight_bytes(profile: Profile) -> float:
    """All the weights, over all GPUs."""
    parameters_b = _architecture(profile)[0]
    return parameters_b * 1e9 * bytes_per_parameter(profile)


def kv_dtype_bytes(profile: Profile) -> int:
    return 1 if profile.kv_cache_dtype == "fp8" else 2  # else the model dtype: 16-bit


def kv_heads_per_gpu(profile: Profile, tensor_parallel_size: int | None = None) -> int:
    """KV heads are split over the GPUs; with fewer heads than GPUs each GPU keeps a copy of one."""
    tp = tensor_parallel_size or profile.tensor_parallel_size
    return max(1, math.ceil(_architecture(profile)[2] / tp))


def kv_bytes_per_token_per_gpu(profile: Profile, tensor_parallel_size: int | None = None) -> int:
    _, layers, _, head_dim = _architecture(profile)
    return 2 * layers * kv_heads_per_gpu(profile, tensor_parallel_size) * head_dim * kv_dtype_bytes(profile)


def overhead_bytes(tensor_parallel_size: int) -> float:
    return OVERHEAD_BYTES + (TENSOR_PARALLEL_OVERHEAD_BYTES if tensor_parallel_size > 1 else 0.0)


def _need(profile: Profile, tp: int, weights: float | None = None) -> float:
    """Bytes one GPU needs: its share of the weights, overhead, and KV for one sequence."""
    total_weights = weight_bytes(profile) if weights is None else weights
    return (total_weights / tp + overhead_bytes(tp)
            + kv_bytes_per_token_per_gpu(profile, tp) * profile.max_model_len)


def _max_utilization(gpu: GpuInfo) -> float:
    """The highest utilization worth suggesting on this GPU: capped, and what its free memory allows."""
    allowed = math.floor((gpu.memory_free_bytes - CUDA_CONTEXT_BYTES) / gpu.memory_total_bytes * 100) / 100
    return min(MAX_SUGGESTED_UTILIZATION, allowed)


def _line(profile: Profile, gpu: GpuInfo) -> GpuFit:
    tp = profile.tensor_parallel_size
    budget = gpu.memory_total_bytes * profile.gpu_memory_utilization
    weights = weight_bytes(profile) / tp
    kv = float(kv_bytes_per_token_per_gpu(profile) * profile.max_model_len)
    overhead = overhead_bytes(tp)
    need = weights + kv + overhead
    return GpuFit(
        index=gpu.index, name=gpu.name, total_bytes=gpu.memory_total_bytes, budget_bytes=budget,
        weights_bytes=weights, kv_bytes=kv, overhead_bytes=overhead, need_bytes=need,
        free_bytes=gpu.memory_free_bytes, required_free_bytes=budget + CUDA_CONTEXT_BYTES,
        margin_bytes=budget - need,
    )


def estimate(profile: Profile, gpus: list[GpuInfo]) -> FitVerdict:
    """The verdict for `profile` on `gpus` (from `engine.hardware.read_hardware`)."""
    if profile.engine == "llama.cpp":
        return FitVerdict(fits=True, reason_phrases=[say("reason_cpu")])
    if profile.engine == "remote":
        return FitVerdict(fits=True, reason_phrases=[say("reason_remote")])

    tp = profile.tensor_parallel_size
    if not gpus:
        return FitVerdict(
            fits=False, problem_phrase=say("problem_no_gpu"),
            reason_phrases=[say("reason_no_gpus" if tp > 1 else "reason_no_gpu", tp=tp)],
            fix_phrase=say("fix_cpu_profile"),
        )
    by_index = {gpu.index: gpu for gpu in gpus}
    wanted = list(profile.gpus[:tp]) if profile.gpus else sorted(by_index)[:tp]
    if len(wanted) < tp:
        message = say("reason_too_few_gpus", tp=tp, found=len(gpus))
        return FitVerdict(fits=False, problem_phrase=message, reason_phrases=[message],
                          fix_phrase=say("fix_fewer_gpus", found=len(gpus)))
    missing = [index for index in wanted if index not in by_index]
    if missing:
        message = say("reason_missing_gpus", gpus=str(profile.gpus),
                       missing=", ".join(map(_gpu, missing)))
        return FitVerdict(fits=False, problem_phrase=message, reason_phrases=[message],
                          fix_phrase=say("fix_present_gpus", present=str(sorted(by_index))))
    return _estimate_on(profile, [by_index[index] for index in wanted], gpus)


def _estimate_on(profile: Profile, used: list[GpuInfo], gpus: list[GpuInfo]) -> FitVerdict:
    """The verdict on the GPUs the profile would use, all of them present."""
    lines = [_line(profile, gpu) for gpu in used]
    worst = min(lines, key=lambda line: line.margin_bytes)
    leftover = worst.budget_bytes - worst.weights_bytes - worst.overhead_bytes
    capacity = max(0, int(leftover // kv_bytes_per_token_per_gpu(profile)))
    found = FitVerdict(fits=True, per_gpu=lines, margin_bytes=worst.margin_bytes,
                       kv_tokens_capacity=capacity)

    busy = [line for line in lines if not line.enough_free]
    over_budget = [line for line in lines if line.weights_bytes + line.overhead_bytes > line.budget_bytes]
    kv_short = [line for line in lines if not line.fits_budget and line not in over_budget]
    reasons = _shortfalls(profile, busy, over_budget, kv_short, capacity)
    if not reasons:
        return replace(found, reason_phrases=[_fitting(profile, line, capacity) for line in lines])

    if busy:
        line = busy[0]
        problem = say("problem_busy", gpu=_gpu(line.index), free=_gib(line.free_bytes),
                       required=_gib(line.required_free_bytes))
        fix = _fix_busy(profile, used, gpus)
    else:
        problem = say("problem_short", short=_gib(-worst.margin_bytes), gpu=_gpu(worst.index))
        fix = (_fix_budget(profile, used, gpus) if over_budget
               else _fix_kv(profile, used, gpus, leftover))
    return replace(found, fits=False, reason_phrases=reasons, fix_phrase=fix, problem_phrase=problem)


def _budget_values(profile: Profile, line: GpuFit) -> dict[str, str | int]:
    """What the reasons say about one GPU's budget."""
    return {"gpu": _gpu(line.index), "budget": _gib(line.budget_bytes),
            "util": f"{profile.gpu_memory_utilization:.2f}", "total": _gib(line.total_bytes)}


def _shortfalls(profile: Profile, busy: list[GpuFit], over_budget: list[GpuFit],
                kv_short: list[GpuFit], capacity: int) -> list[Phrase]:
    """Why it does not fit, GPU by GPU: too little free memory first, then budget, then KV."""
    reasons = [say("reason_busy", **_budget_values(profile, line), free=_gib(line.free_bytes),
                    context=_gib(CUDA_CONTEXT_BYTES))
               for line in busy]
    reasons += [say("reason_over_budget", **_budget_values(profile, line),
                     weights=_gib(line.weights_bytes), overhead=_gib(line.overhead_bytes))
                for line in over_budget]
    reasons += [say("reason_kv_short", gpu=_gpu(line.index), tokens=profile.max_model_len,
                     kv=_gib(line.kv_bytes), capacity=capacity,
                     left=_gib(line.budget_bytes - line.weights_bytes - line.overhead_bytes))
                for line in kv_short]
    return reasons


def _fitting(profile: Profile, line: GpuFit, capacity: int) -> Phrase:
    """What one GPU holds when the profile fits."""
    return say("reason_fits", gpu=_gpu(line.index), need=_gib(line.need_bytes),
                budget=_gib(line.budget_bytes), weights=_gib(line.weights_bytes),
                kv=_gib(line.kv_bytes), tokens=profile.max_model_len,
                overhead=_gib(line.overhead_bytes), capacity=capacity)


def _fix_busy(profile: Profile, used: list[GpuInfo], gpus: list[GpuInfo]) -> Phrase:
    """A used GPU has less free memory than vLLM's start check wants (a desktop, another job)."""
    tp, util = profile.tensor_parallel_size, profile.gpu_memory_utilization
    need = _need(profile, tp)
    roomy = [gpu for gpu in sorted(gpus, key=lambda g: g.index)
             if gpu.memory_free_bytes >= gpu.memory_total_bytes * util + CUDA_CONTEXT_BYTES
             and need <= gpu.memory_total_bytes * util]
    if len(roomy) >= tp:
        chosen = [gpu.index for gpu in roomy[:tp]]
        return say("fix_pin", names=", ".join(map(_gpu, chosen)), chosen=str(chosen))
    lower = min(_max_utilization(gpu) for gpu in used)
    if lower > 0 and all(need <= gpu.memory_total_bytes * lower for gpu in used):
        return say("fix_lower_utilization", util=f"{lower:.2f}")
    gpu = min(used, key=lambda g: g.memory_free_bytes)
    others = ", ".join(dict.fromkeys(p.name for p in gpu.processes if p.name))
    values: dict[str, str | int] = {"gpu": _gpu(gpu.index), "used": _gib(gpu.memory_used_bytes)}
    if others:
        return say("fix_free_memory_named", **values, processes=others)
    return say("fix_free_memory", **values)


def _fix_budget(profile: Profile, used: list[GpuInfo], gpus: list[GpuInfo]) -> Phrase:
    """The budget cannot hold the weights, the overhead and one sequence of KV."""
    tp = profile.tensor_parallel_size
    need = _need(profile, tp)
    raised = max(math.ceil(need / gpu.memory_total_bytes * 100 - 1e-9) / 100 for gpu in used)
    if all(raised <= _max_utilization(gpu) for gpu in used):
        return say("fix_raise_utilization", util=f"{raised:.2f}")
    if profile.quantization not in FOUR_BIT_QUANTIZATIONS:
        four_bit = _architecture(profile)[0] * 1e9 * BYTES_PER_PARAMETER_4BIT * (1 + FOUR_BIT_EXTRA)
        # Enough that the weights fit; a shorter max_model_len may be the next step.
        if all(four_bit / tp + overhead_bytes(tp) < gpu.memory_total_bytes * _max_utilization(gpu)
               for gpu in used):
            return say("fix_four_bit")
    card = min(gpu.memory_total_bytes for gpu in gpus)
    for size in MORE_GPU_CHOICES:
        if size > tp and _need(profile, size) <= card * profile.gpu_memory_utilization:
            return say("fix_more_gpus", tp=size)
    return say("fix_smaller_model")


def _fix_kv(profile: Profile, used: list[GpuInfo], gpus: list[GpuInfo], leftover: float) -> Phrase:
    """Weights fit, but the KV of one max_model_len sequence does not."""
    tokens = int(leftover // kv_bytes_per_token_per_gpu(profile))
    shorter = tokens // MAX_MODEL_LEN_STEP * MAX_MODEL_LEN_STEP
    if shorter >= MIN_SUGGESTED_MAX_MODEL_LEN:
        return say("fix_lower_max_model_len", tokens=shorter)
    return _fix_budget(profile, used, gpus)


def summary(verdict: FitVerdict, templates: Mapping[str, str] = FIT_EN) -> str:
    """One line: "fits with 3.2 GiB to spare", "does not fit: 0.6 GiB short on GPU0 — <fix>";
    in another language with that language's `templates` (keys as in FIT_EN)."""
    def say(key: str, **values: str | int) -> str:
        return fill(templates, key, values)

    reason = verdict.reason_phrases[0].render(templates) if verdict.reason_phrases else None
    if verdict.fits:
        if verdict.margin_bytes is not None:
            return say("summary_fits_with_spare", spare=_gib(verdict.margin_bytes))
        return say("summary_fits_because", reason=reason) if reason else say("summary_fits")
    problem = (verdict.problem_phrase.render(templates) if verdict.problem_phrase
               else reason or say("summary_unknown"))
    if verdict.fix_phrase:
        return say("summary_does_not_fit_fix", problem=problem, fix=verdict.fix_phrase.render(templates))
    return say("summary_does_not_fit", problem=problem)
