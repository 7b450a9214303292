# Shared by ./start, ./stop, ./status, ./logs and ./test. Sourced, not run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The same .env the app reads, so both agree on ports and the data directory. As for the app,
# a variable set in the environment wins over the file.
if [ -f .env ]; then
  environment="$(export -p)"
  set -a; . ./.env; set +a
  eval "$environment"
fi
DATA_DIR="${DATA_DIR:-$ROOT/data}"
GATEWAY_HOST="${GATEWAY_HOST:-127.0.0.1}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# Containers install the requirements into the image's own Python instead of a venv.
if [ "${VLLM_CHAT_SYSTEM_PYTHON:-}" = 1 ]; then PY="$(command -v python3)"; fi
PID_FILE="$DATA_DIR/app.pid"
APP_LOG="$DATA_DIR/logs/app.log"
CONSOLE_LOG="$DATA_DIR/logs/console.log"
export DATA_DIR GATEWAY_HOST GATEWAY_PORT

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
}

# llama.cpp is compiled on install. pip's default is a build for this very CPU (-march=native),
# which turns on AMX kernels that crash on the first token inside many cloud VMs (and on the
# machine this was written on), so it is built for a portable x86-64 baseline instead. These
# flags are the only place that choice is made: ./start, ./test and the Dockerfile all come
# through install_requirements. (scripts/bench_llama_build.py: a build with AVX-512 but no AMX
# evaluated prompts ~11% faster and generated at the same speed; not worth a second build.)
if [ "$(uname -m)" = x86_64 ]; then
  LLAMA_CPP_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
else
  LLAMA_CPP_CMAKE_ARGS="-DGGML_NATIVE=OFF"
fi

llama_cpp_version() {
  sed -n 's/^llama-cpp-python\(\[[a-z,]*\]\)\?==\([^ ]*\).*/\2/p' "$ROOT/requirements.txt"
}

# The wheel is built once into a folder named by its version and flags, never taken from pip's
# cache (which keys wheels on the sdist, not on CMAKE_ARGS, and may hold a native build).
llama_cpp_wheelhouse() {
  local version tag
  version="$(llama_cpp_version)"
  tag="$(printf '%s' "$LLAMA_CPP_CMAKE_ARGS" | sha256sum | cut -c1-12)"
  echo "$ROOT/.cache/wheels/llama-cpp-python-$version-$tag"
}

build_llama_cpp_wheel() {
  local wheelhouse version
  wheelhouse="$(llama_cpp_wheelhouse)"
  version="$(llama_cpp_version)"
  if ! ls "$wheelhouse"/llama_cpp_python-"$version"-*.whl >/dev/null 2>&1; then
    say "Building llama.cpp ($LLAMA_CPP_CMAKE_ARGS): about 4 minutes on 2 cores ..." >&2
    rm -rf "$wheelhouse.partial"
    CMAKE_ARGS="$LLAMA_CPP_CMAKE_ARGS" FORCE_CMAKE=1 "$PY" -m pip wheel \
      --disable-pip-version-check -q --no-cache-dir --no-deps --no-binary llama-cpp-python \
      -w "$wheelhouse.partial" "llama-cpp-python==$version" >&2
    mkdir -p "$(dirname "$wheelhouse")"
    rm -rf "$wheelhouse"
    mv "$wheelhouse.partial" "$wheelhouse"
  fi
  echo "$wheelhouse"
}

# Install the pinned requirements into $PY, llama.cpp from the wheelhouse (the Dockerfile calls
# this for the image's own Python).
install_requirements() {
  local requirements="$1" wheelhouse
  say "Installing pinned requirements ($requirements) ..."
  "$PY" -m pip install --disable-pip-version-check -q --upgrade pip >/dev/null
  wheelhouse="$(build_llama_cpp_wheel)"
  # --force-reinstall: a venv made by an older ./start may hold a native build of this version.
  "$PY" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps \
    --no-index --find-links "$wheelhouse" "llama-cpp-python==$(llama_cpp_version)"
  "$PY" -m pip install --disable-pip-version-check -q -r "$requirements" -c constraints.txt
}

# Create .venv and install into it; skipped when nothing changed, and in the container image,
# which installed everything when it was built.
ensure_venv() {
  local requirements="$1" stamp want
  [ "${VLLM_CHAT_SYSTEM_PYTHON:-}" = 1 ] && return 0
  if [ ! -x "$PY" ]; then
    say "Creating the virtual environment in .venv ..."
    "$(find_python)" -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(basename "$requirements")"
  want="$( (cat requirements*.txt constraints.txt; echo "$LLAMA_CPP_CMAKE_ARGS") | sha256sum | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || return 0
  install_requirements "$requirements"
  echo "$want" > "$stamp"
  # requirements-dev.txt includes requirements.txt: ./start after ./test has nothing to do.
  if grep -q '^-r requirements.txt' "$requirements"; then
    echo "$want" > "$VENV/.installed-requirements.txt"
  fi
}

# vLLM in a venv of its own (requirements-gpu.txt says why), installed only where the active
# profile runs vLLM on this machine; skipped when it is installed as pinned, and in images
# (Dockerfile.gpu carries vLLM). The app finds .venv-vllm itself; VLLM_PYTHON is exported too.
VLLM_VENV="${VLLM_VENV:-$ROOT/.venv-vllm}"
ensure_vllm() {
  local stamp want
  [ "${VLLM_CHAT_SYSTEM_PYTHON:-}" = 1 ] && return 0
  [ "$("$PY" -m services --engine-to-install)" = vllm ] || return 0
  export VLLM_PYTHON="${VLLM_PYTHON:-$VLLM_VENV/bin/python}"
  stamp="$VLLM_VENV/.installed"
  want="$(cat requirements-gpu.txt constraints-gpu.txt | sha256sum | cut -d' ' -f1)"
  [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || return 0
  say "The active profile runs on vLLM: installing $(grep '^vllm==' requirements-gpu.txt) into" \
      "$(basename "$VLLM_VENV") (about 4.3 GB to download, 9.5 GB on disk; 7 minutes here) ..."
  [ -x "$VLLM_VENV/bin/python" ] || "$(find_python)" -m venv "$VLLM_VENV"
  "$VLLM_VENV/bin/python" -m pip install --disable-pip-version-check -q \
    -r requirements-gpu.txt -c constraints-gpu.txt
  echo "$want" > "$stamp"
}

# The model file of the profile the app will start. Python chooses it with the app's own
# settings (ACTIVE_PROFILE, else the last profile switched to from the web, else the default).
ensure_model() {
  "$PY" -m services
}

app_pid() {
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

URL_FILE="$DATA_DIR/app.url"

# The running app's address as ./start recorded it, else the configured one.
url() {
  if [ -s "$URL_FILE" ] && app_pid >/dev/null; then cat "$URL_FILE"; return; fi
  echo "http://${GATEWAY_HOST/0.0.0.0/127.0.0.1}:$GATEWAY_PORT"
}

is_loopback() {
  case "$1" in
    localhost|::1|127.*) return 0 ;;
    *) return 1 ;;
  esac
}

# A setting the app reads as false (pydantic's spellings).
is_false() {
  case "$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" in
    false|0|no|off|f|n) return 0 ;;
    *) return 1 ;;
  esac
}

# /health's JSON on stdin -> "status state" on the first line, the engine's error after it.
health_summary() {
  "$PY" -c '
import json, sys
report = json.load(sys.stdin)
engine = report["services"]["engine"]
print(report["status"], engine["state"])
print(engine.get("error") or "")'
}

# GET /health without curl (a fresh machine may have only Python); fails if it does not answer.
health() {
  "$PY" - "$(url)/health" <<'PYTHON' 2>/dev/null
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())
except urllib.error.HTTPError as exc:
    print(exc.read().decode())
PYTHON
}
