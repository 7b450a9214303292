"""Tokens per second of the llama.cpp build a Python environment holds: the portable build that
./start makes, against another build made by hand in its own venv, e.g.

    python3 -m venv /tmp/native && CMAKE_ARGS="-DGGML_NATIVE=ON" /tmp/native/bin/pip wheel \
        --no-cache-dir --no-deps --no-binary llama-cpp-python -w /tmp/w llama-cpp-python==0.3.36
    /tmp/native/bin/pip install /tmp/w/*.whl numpy diskcache jinja2 typing_extensions

Run once per environment, with the SmolLM2 model ./start or ./test fetched:

    .venv/bin/python scripts/bench_llama_build.py
    /tmp/native/bin/python scripts/bench_llama_build.py

Each round loads nothing new: one model, a ~500-token prompt evaluated afresh, then 128
generated tokens. A build that crashes (AMX on some VMs) dies here with SIGSEGV.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import llama_cpp

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "The history of computing, told briefly: " + "machines, programs and people; " * 80


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path,
                        default=ROOT / ".cache" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()

    print(llama_cpp.llama_print_system_info().decode().strip())
    llm = llama_cpp.Llama(str(args.model), n_ctx=2048, verbose=False)
    prompt = llm.tokenize(PROMPT.encode())
    prefill, generate = [], []
    for _ in range(args.rounds):
        llm.reset()
        started = time.perf_counter()
        llm.eval(prompt)
        prefill.append(len(prompt) / (time.perf_counter() - started))
        started, produced = time.perf_counter(), 0
        for token in llm.generate([], temp=0.0, reset=False):
            produced += 1
            if produced == args.tokens or token == llm.token_eos():
                break
        generate.append(produced / (time.perf_counter() - started))
    print(f"prompt eval: {statistics.median(prefill):.0f} tokens/s ({len(prompt)}-token prompt,"
          f" median of {args.rounds})")
    print(f"generation:  {statistics.median(generate):.1f} tokens/s (median of {args.rounds})")


if __name__ == "__main__":
    main()
