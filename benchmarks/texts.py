"""The words around docs/benchmarks.md's figures (benchmarks/report.py fills them in)."""

HEADER = """# Benchmarks

<!-- Written by `scripts/benchmark.sh docs` (benchmarks/report.py) from the results in
docs/benchmark-results/: edit benchmarks/texts.py, not this file. -->

Every figure below was measured by the benchmark tool and written here by it; none is typed
in. Measured on: {machine}.

**Reproduce everything** (about 25 minutes on 2 cores): `scripts/benchmark.sh docs`. Parts:
`scripts/benchmark.sh compare | kpi | soak | analytics`, each writing its JSON to
`docs/benchmark-results/`; `scripts/benchmark.sh load --help` measures any one target (an
OpenAI-compatible URL, the app's REST `/api/chat` or `/v1`, its Gradio API through
`gradio_client`) at the concurrency steps, prompt and answer lengths, request count or duration
you give it, and writes JSON (`--json`) and a Markdown table (`--markdown`).

**How the figures are defined** (as `vllm bench serve` defines them): TTFT, time from sending
the request to the first piece of answer text; ITL, time between successive pieces of text;
TPOT, (end-to-end − TTFT) / (output tokens − 1) per request; end-to-end, sending to the
stream's end; each as p50 / p95 / p99 over the step's successful requests. req/min and output
tok/s are over the step's wall time; errors include HTTP errors and errors reported in the
stream. **CPU per answer** is the user + system CPU time of the process serving the path (the
app; the engine itself for "engine directly"; the plain Gradio process) during the step,
divided by the step's requests. Each worker is warm: it sends one uncounted request first.
Without usage in the stream, tokens are counted as words (exact for the fake engine, which
sends one word per token). The measuring client runs on the same cores as what it measures.
"""

COMPARE = """
## The app against the engine and a plain Gradio chat

A fake OpenAI-compatible engine (`benchmarks/fake_engine.py`, a benchmark double: 256 tokens a
request, as fast as it can) behind: nothing (**engine directly**), the app's REST `/api/chat`,
its `/v1`, its Gradio API `/chat` (through `gradio_client`), and a **plain Gradio
ChatInterface** whose function streams from the same engine with the `openai` client
(`benchmarks/plain_gradio.py`, concurrency opened up; the baseline a team would write first).
The **Gradio floor** is an endpoint of that plain Gradio app that streams 256 words with no
engine at all: what Gradio and `gradio_client` cost by themselves. The app runs with its
per-user limits off (every worker is the same user) and titles off. The Gradio paths run up
to c=10 and are read every 5 ms (`gradio_client`'s own iteration polls every millisecond
under a lock per worker: at c=100 its threads took the cores from the app they measured).
Measured {when} with `scripts/benchmark.sh compare`.

{table}
{before}
### Targets

{verdicts}
Where the app's CPU per answer goes (py-spy under this comparison, REST at c=10): reading
the engine's HTTP stream (httpx and h11 parse every chunk), DuckDB's writes on the database
thread (the question, its draft, then the answer, its usage row and the draft's removal: each
statement costs DuckDB most of a millisecond), FastAPI's middleware and routing, and writing
the SSE. On the Gradio API, Gradio's own queue, session state and event handling come on top.
"""

KPI = """
## The plan's KPIs with the real engine

The app with its own llama.cpp engine serving SmolLM2-135M-Instruct (Q4_1 GGUF) on this CPU,
through REST `/api/chat`: ten requests one at a time with a ~1,500-token prompt (SmolLM2's
context is 2,048 tokens) and 128-token answers, then 5 concurrent sessions with short prompts
for 60 s (`scripts/benchmark.sh kpi`, measured {when}).

{table}
{verdicts}
{baseline}
What this CPU can and cannot show: llama.cpp serves one request at a time here, so 5 sessions
queue behind each other and their TTFT is mostly waiting (a GPU engine batches them), and
SmolLM2's prompt evaluation on 2 cores is nearly all of the TTFT at a 2k context (its log gives
the prompt's evaluation time per request). A 135M model's speed says nothing about a 14B
model's on GPUs: the KPIs' verdicts here are this engine's, and the app's own part is its CPU
per answer and the change against the earlier commit.
"""

SOAK = """
## Many streams for a long time

`scripts/benchmark.sh soak`: 200 REST sessions against the fake engine paced at 20 tokens a
second per stream (128-token answers, a busy GPU's pace), for 5 minutes. The slow test
`tests/benchmarks/test_soak.py` (`pytest -m slow`) runs the same and holds the app to the bound.
The client drops a kept-alive connection after 2 s, before uvicorn's 5 s keep-alive timeout
does: with both at 5 s, a request sent just as the app closed its connection failed without
reaching the app (a client-side race every HTTP client has; the `openai` SDK retries it).

{summary}

{verdicts}"""

ANALYTICS = """
## Usage dashboards at 10 million requests

`scripts/benchmark.sh analytics` (`scripts/bench_analytics.py --rows 10000000`): a database
filled with 10 million synthetic request rows over 30 days, then each Usage-tab query timed
(median of 5 after a warm-up) and the whole tab as it loads one view ({when}).

{table}
{verdicts}"""

GPU = """
## What a GPU run must measure

Not measured here (no GPU is lent to this project). On the plan's server (2× RTX 3090, vLLM):
`scripts/benchmark.sh kpi` with the vLLM profile active (TTFT p50 at a 2k context, requests a
minute at 5 and at 10 concurrent, error rate); `scripts/benchmark.sh load --target openai
--url http://127.0.0.1:8000/v1` against vLLM directly and `--target rest` against the app at
the same steps, to show the app's overhead next to a real engine's batching; the GPU tab's
sampler cost (NVML at 1 Hz) beside it; and a soak with vLLM behind the app.
"""
