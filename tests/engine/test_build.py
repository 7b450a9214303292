"""The installed llama.cpp is the portable build that ./start, ./test and the Dockerfile make.

A build for the build machine's CPU (pip's default, -march=native) switches on AMX kernels
that crash on the first token inside many cloud VMs; this catches that on any machine."""

from __future__ import annotations

import platform
import subprocess
import sys

from conftest import ROOT


def system_info() -> str:
    return subprocess.run(
        [sys.executable, "-c",
         "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"],
        capture_output=True, text=True, check=True, timeout=60).stdout


def test_the_installed_llama_cpp_is_the_portable_build() -> None:
    info = system_info()
    assert "AMX_INT8 = 1" not in info and "AMX" not in info, info
    if platform.machine() == "x86_64":
        assert "AVX2 = 1" in info and "FMA = 1" in info and "F16C = 1" in info, info
        assert "AVX512" not in info, f"not the portable baseline: {info}"


def test_the_build_flags_live_in_one_place_that_every_install_uses() -> None:
    flags = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    holders = [path.relative_to(ROOT).as_posix() for path in
               [ROOT / "start", ROOT / "test", ROOT / "Dockerfile", *(ROOT / "scripts").iterdir()]
               if path.is_file() and "GGML_AVX2" in path.read_text(errors="replace")]
    assert holders == ["scripts/common.sh"]
    assert flags in (ROOT / "scripts" / "common.sh").read_text()
    assert "install_requirements" in (ROOT / "Dockerfile").read_text()
    for script in ("start", "test"):
        assert "ensure_venv" in (ROOT / script).read_text()


def test_the_wheelhouse_is_named_by_version_and_flags() -> None:
    """pip's cache keys built wheels by the sdist, not CMAKE_ARGS: ours are keyed by both."""
    def wheelhouse(flags: str) -> str:
        return subprocess.run(
            ["bash", "-c", f". scripts/common.sh >/dev/null; LLAMA_CPP_CMAKE_ARGS='{flags}';"
             " llama_cpp_wheelhouse"], cwd=ROOT, capture_output=True, text=True,
            check=True).stdout.strip()

    portable, native = wheelhouse("-DGGML_NATIVE=OFF -DGGML_AVX2=ON"), wheelhouse("")
    assert portable != native
    assert portable.startswith(str(ROOT / ".cache" / "wheels" / "llama-cpp-python-"))
