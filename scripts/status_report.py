"""What ./status prints for a running app: /health in a line, the app's and its engine's memory,
and each GPU's memory, utilization and temperature (from the app's /metrics, which NVML fills).

    python scripts/status_report.py URL PID
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kib = next((int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmRSS:")), None)
    return None if kib is None else kib / 1024


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def gpu_lines(metrics_text: str) -> list[str]:
    gauges: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name.startswith("vllm_chat_gpu_"):
            for sample in family.samples:
                gauges.setdefault(sample.labels["gpu"], {})[family.name[14:]] = sample.value
    lines = []
    for gpu, values in sorted(gauges.items()):
        used, total = values.get("memory_used_bytes", 0), values.get("memory_total_bytes", 0)
        line = f"GPU{gpu}: {used / 2**30:.1f} of {total / 2**30:.1f} GiB"
        if "utilization_percent" in values:
            line += f", {values['utilization_percent']:.0f} % busy"
        if "temperature_celsius" in values:
            line += f", {values['temperature_celsius']:.0f} °C"
        lines.append(line)
    return lines or ["GPUs: none read (no NVIDIA driver or GPU here)"]


def report(url: str, pid: int) -> list[str]:
    code, body = fetch(f"{url}/health")
    health = json.loads(body)
    engine = health["services"]["engine"]
    lines = [f"health: {health['status']} (HTTP {code}); engine {engine['state']},"
             f" profile {engine['profile']}, model {engine['model']}"]
    if engine.get("error"):
        lines.append(f"engine error: {engine['error']}")
    memory = [f"app {rss_mb(pid) or 0:.0f} MB"]
    memory += [f"engine (pid {child}) {rss_mb(child) or 0:.0f} MB" for child in children(pid)]
    lines.append("memory (RSS): " + ", ".join(memory))
    code, metrics = fetch(f"{url}/metrics")
    lines += gpu_lines(metrics) if code == 200 else [f"GPUs: /metrics answered {code}"]
    return lines


if __name__ == "__main__":
    try:
        print("\n".join("  " + line for line in report(sys.argv[1], int(sys.argv[2]))))
    except (OSError, ValueError, KeyError) as exc:
        sys.exit(f"  /health does not answer yet ({exc})")
