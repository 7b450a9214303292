"""What a fit verdict says, as phrases: a template key and its values. English is here; other
languages keep a table with the same keys and placeholders (the UI's Korean one is
ui.i18n.FIT_KO)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Every sentence a verdict says, in English, by key. The values come formatted already, so
# numbers, GPU names and setting names read the same in every language.
FIT_EN: dict[str, str] = {
    # reasons (the first two also serve as problems)
    "reason_too_few_gpus": "tensor_parallel_size {tp} needs {tp} GPUs, {found} found",
    "reason_missing_gpus": "gpus = {gpus} names {missing}, which is not present",
    "reason_cpu": "llama.cpp runs on the CPU: no GPU needed",
    "reason_remote": "a remote engine runs on its own servers: no GPU needed here",
    "reason_no_gpu": "no GPU: vLLM needs {tp} NVIDIA GPU and none can be read here",
    "reason_no_gpus": "no GPU: vLLM needs {tp} NVIDIA GPUs and none can be read here",
    "reason_busy": ("{gpu} has {free} free; vLLM's start check wants {budget} ({util} x {total})"
                    " plus about {context} for its CUDA context"),
    "reason_over_budget": ("{gpu}: weights {weights} + overhead {overhead} exceed the {budget} budget"
                           " ({util} x {total})"),
    "reason_kv_short": ("{gpu}: one {tokens}-token sequence needs {kv} of KV cache, {left} is left"
                        " after weights and overhead (room for {capacity} tokens)"),
    "reason_fits": ("{gpu}: needs {need} of {budget} (weights {weights}, KV {kv} for {tokens} tokens,"
                    " overhead {overhead}); KV room for {capacity} tokens"),
    # problems
    "problem_no_gpu": "no GPU",
    "problem_busy": "{gpu} has only {free} free, needs {required}",
    "problem_short": "{short} short on {gpu}",
    # fixes
    "fix_cpu_profile": "use a llama.cpp (CPU) profile on this machine",
    "fix_fewer_gpus": "lower tensor_parallel_size to {found} or add GPUs",
    "fix_present_gpus": "set gpus to GPUs that are present ({present})",
    "fix_pin": "pin to {names} (set gpus = {chosen})",
    "fix_lower_utilization": "lower gpu_memory_utilization to {util}",
    "fix_free_memory": "free memory on {gpu}: other processes use {used}",
    "fix_free_memory_named": "free memory on {gpu}: other processes use {used} ({processes})",
    "fix_raise_utilization": "raise gpu_memory_utilization to {util}",
    "fix_four_bit": "use a 4-bit AWQ/GPTQ profile",
    "fix_more_gpus": "use more GPUs (tensor_parallel_size {tp})",
    "fix_smaller_model": "use a smaller model or more GPUs",
    "fix_lower_max_model_len": "lower max_model_len to {tokens}",
    # `summary`'s line
    "summary_fits": "fits",
    "summary_fits_because": "fits: {reason}",
    "summary_fits_with_spare": "fits with {spare} to spare",
    "summary_does_not_fit": "does not fit: {problem}",
    "summary_does_not_fit_fix": "does not fit: {problem} — {fix}",
    "summary_unknown": "unknown",
}


@dataclass(frozen=True)
class Phrase:
    """One sentence of a verdict: the key of its template and the values to fill in."""

    key: str
    values: Mapping[str, str | int] = field(default_factory=dict)

    def render(self, templates: Mapping[str, str] = FIT_EN) -> str:
        """The sentence from `templates`; English where the table lacks the key."""
        return fill(templates, self.key, self.values)


def fill(templates: Mapping[str, str], key: str, values: Mapping[str, str | int]) -> str:
    return templates.get(key, FIT_EN[key]).format(**values)


def say(key: str, **values: str | int) -> Phrase:
    return Phrase(key, values)
