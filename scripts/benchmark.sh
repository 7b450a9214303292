#!/usr/bin/env bash
# The benchmark tool (docs/benchmarks.md shows its results and how to read them).
#   scripts/benchmark.sh load --target rest --url http://127.0.0.1:8080 --username test \
#       --password test --concurrency 1,5,10 --requests 50
#                          any target: an OpenAI-compatible URL (--target openai --url .../v1),
#                          the app's REST (rest), its Gradio API (gradio); --help lists all
#   scripts/benchmark.sh compare    the app against the engine and a plain Gradio chat, on a
#                                   fake engine (benchmarks/fake_engine.py)
#   scripts/benchmark.sh kpi        the plan's KPIs with the real engine behind the app
#   scripts/benchmark.sh soak       200 streams for 5 minutes: errors and memory
#   scripts/benchmark.sh analytics  the Usage tab's queries at 10 million request rows
#   scripts/benchmark.sh docs       all four above, then docs/benchmarks.md from their results
#                                   (about 25 minutes on 2 cores)
set -euo pipefail
. "$(dirname "$0")/common.sh"

ensure_venv requirements.txt
RESULTS="$ROOT/docs/benchmark-results"
mkdir -p "$RESULTS"

model_dir() {
  ensure_model >/dev/null
  echo "${MODEL_DIR:-$DATA_DIR/models}"
}

command="${1:-}"
[ $# -gt 0 ] && shift
case "$command" in
  load) exec "$PY" -m benchmarks.load "$@" ;;
  compare) exec "$PY" -m benchmarks.compare --json "$RESULTS/compare.json" "$@" ;;
  kpi) exec "$PY" -m benchmarks.kpi --model-dir "$(model_dir)" --json "$RESULTS/kpi.json" "$@" ;;
  soak) exec "$PY" -m benchmarks.soak --json "$RESULTS/soak.json" "$@" ;;
  analytics)
    exec "$PY" scripts/bench_analytics.py --rows 10000000 --json "$RESULTS/analytics.json" "$@" ;;
  docs)
    "$0" compare --no-progress
    "$0" kpi --no-progress
    "$0" soak --no-progress
    "$0" analytics
    exec "$PY" -m benchmarks.report "$RESULTS" "$ROOT/docs/benchmarks.md" ;;
  *) die "usage: scripts/benchmark.sh load|compare|kpi|soak|analytics|docs [options] (see the top of this file)" ;;
esac
