# Shared by ./start, ./stop, ./status, ./logs and ./test. Sourced, not run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The same .env the app reads, so both agree on ports and the data directory.
if [ -f .env ]; then set -a; . ./.env; set +a; fi
DATA_DIR="${DATA_DIR:-$ROOT/data}"
GATEWAY_HOST="${GATEWAY_HOST:-127.0.0.1}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
ACTIVE_PROFILE="${ACTIVE_PROFILE:-smollm2-135m-cpu}"
MODEL_DIR="${MODEL_DIR:-$DATA_DIR/models}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# Containers install the requirements into the image's own Python instead of a venv.
if [ "${VLLM_CHAT_SYSTEM_PYTHON:-}" = 1 ]; then PY="$(command -v python3)"; fi
PID_FILE="$DATA_DIR/app.pid"
APP_LOG="$DATA_DIR/logs/app.log"
export DATA_DIR GATEWAY_HOST GATEWAY_PORT ACTIVE_PROFILE MODEL_DIR

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

# Create .venv and install the pinned requirements; skipped when nothing changed.
ensure_venv() {
  local requirements="$1" stamp want
  [ "${VLLM_CHAT_SYSTEM_PYTHON:-}" = 1 ] && return 0
  if [ ! -x "$PY" ]; then
    say "Creating the virtual environment in .venv ..."
    "$(find_python)" -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(basename "$requirements")"
  want="$(cat requirements*.txt constraints.txt | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing pinned requirements ($requirements). The first time, llama-cpp-python"
    say "builds from source: about 4 minutes on 2 cores."
    "$PY" -m pip install --disable-pip-version-check -q --upgrade pip >/dev/null
    "$PY" -m pip install --disable-pip-version-check -q -r "$requirements" -c constraints.txt
    echo "$want" > "$stamp"
  fi
}

ensure_model() {
  [ -z "${ENGINE_BASE_URL:-}" ] || return 0
  local profile="profiles/$ACTIVE_PROFILE.toml"
  [ -f "$profile" ] || die "no profile $profile"
  grep -q '^\[model_file\]' "$profile" || return 0
  say "Checking the model file for profile $ACTIVE_PROFILE ..."
  "$PY" -m engine.model_files "$profile" "$MODEL_DIR" >/dev/null
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
