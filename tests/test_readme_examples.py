"""The README's examples run as written: its gradio_client block, against a running app with the
real model, from the first endpoint to an admin's profile switch."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from conftest import ROOT, AppFactory

README = ROOT / "README.md"


def code_block(section: str, language: str) -> str:
    """The first ```language block under the README's `## section` heading."""
    text = README.read_text(encoding="utf-8")
    body = text[text.index(f"\n## {section}\n"):]
    body = body[:body.find("\n## ", 1) if "\n## " in body[1:] else None]
    found = re.search(rf"```{language}\n(.*?)```", body, re.DOTALL)
    assert found, f"no {language} block under {section}"
    return found[1]


def readme_address(example: str) -> str:
    """The address the README's examples use (the app's default), read from the example."""
    found = re.search(r'^url = "(http://[^"]+)"$', example, re.M)
    assert found, "the example names its address in one line"
    return found[1]


def test_the_gradio_api_examples_run_as_written(app_factory: AppFactory) -> None:
    server = app_factory(own_engine=True)
    example = code_block("Python: gradio_client", "python")
    address = readme_address(example)
    curl = code_block("Python: gradio_client", "bash")
    assert address in curl
    result = subprocess.run(["bash", "-c", f"set -euo pipefail\n{curl.replace(address, server.url)}"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TOKEN": server.token()})
    assert result.returncode == 0, result.stderr[-3000:]
    events = result.stdout.split("event: ")
    assert events[-1].startswith("complete\ndata: "), result.stdout[-2000:]
    answer, conv_id = json.loads(events[-1].removeprefix("complete\ndata: "))
    assert answer.strip() and isinstance(conv_id, int)

    result = subprocess.run([sys.executable, "-c", example.replace(address, server.url)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert "('smollm2-135m-instruct', 'active')" in result.stdout
    assert "ready" in lines, "the engine's state"
    totals = re.search(r"\{'requests': (\d+), 'completed'", result.stdout)
    # The last answer's usage row is written just after its stream ends: 3 or 4 of 4.
    assert totals and int(totals[1]) >= 3
    assert lines[-2].endswith(" smollm2-135m-cpu-precise is ready")
    assert lines[-1] == "switched smollm2-135m-cpu-precise"
