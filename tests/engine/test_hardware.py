"""Reading GPUs through NVML: a fake NVML module for the machine's shapes, and the real pynvml
on this machine, which has no NVIDIA driver."""

from __future__ import annotations

import ctypes
import importlib
import sys

import pytest
from doubles.fake_nvml import (
    GIB,
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_GPU_IS_LOST,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    FakeGpu,
    FakeNvml,
    NVMLError,
    two_rtx_3090s,
)

from engine.hardware import GpuProcess, GpuRequired, HardwareReport, read_hardware, require_gpu


def test_reads_both_gpus_with_memory_load_power_and_processes() -> None:
    nvml = FakeNvml(two_rtx_3090s())

    report = read_hardware(nvml)

    assert report.has_gpu and report.error is None
    assert report.driver_version == "550.127.05"
    desktop, busy = report.gpus
    assert (desktop.index, desktop.name) == (0, "NVIDIA GeForce RTX 3090")
    assert desktop.memory_total_bytes == 24 * GIB
    assert desktop.memory_used_bytes == int(1.5 * GIB)
    assert desktop.memory_free_bytes == 24 * GIB - int(1.5 * GIB)
    assert (desktop.utilization_percent, desktop.temperature_c) == (7, 41)
    assert (desktop.power_watts, desktop.power_limit_watts) == (31.5, 350.0)  # NVML says milliwatts
    assert desktop.processes == [
        GpuProcess(pid=1234, used_memory_bytes=int(1.2 * GIB), name="/usr/lib/xorg/Xorg"),
        GpuProcess(pid=1301, used_memory_bytes=int(0.3 * GIB), name="gnome-shell"),
    ]
    assert busy.index == 1 and busy.utilization_percent == 93 and busy.power_watts == 301.25
    # A process in both the compute and the graphics list is listed once.
    assert busy.processes == [GpuProcess(pid=4321, used_memory_bytes=2 * GIB, name="python")]
    assert nvml.calls == ["init", "shutdown"]


def test_process_without_a_readable_name_or_memory_is_still_listed() -> None:
    gpu = FakeGpu("NVIDIA A10", 24 * GIB, GIB, compute=[(999, None)])

    report = read_hardware(FakeNvml([gpu]))

    assert report.gpus[0].processes == [GpuProcess(pid=999, used_memory_bytes=None, name=None)]


def test_power_not_supported_gives_none_for_power_only() -> None:
    report = read_hardware(FakeNvml(two_rtx_3090s(), power_supported=False))

    assert report.error is None and len(report.gpus) == 2
    for gpu in report.gpus:
        assert gpu.power_watts is None and gpu.power_limit_watts is None
    assert report.gpus[0].temperature_c == 41
    assert report.gpus[0].memory_total_bytes == 24 * GIB


def test_byte_strings_from_old_bindings_are_decoded() -> None:
    report = read_hardware(FakeNvml(two_rtx_3090s(), old_bindings=True))

    assert report.driver_version == "550.127.05"
    assert [gpu.name for gpu in report.gpus] == ["NVIDIA GeForce RTX 3090"] * 2
    assert report.gpus[0].processes[0].name == "/usr/lib/xorg/Xorg"


def test_driver_not_loaded_gives_no_gpus_and_says_why() -> None:
    nvml = FakeNvml(two_rtx_3090s(), init_error=NVMLError(NVML_ERROR_DRIVER_NOT_LOADED))

    report = read_hardware(nvml)

    assert report == HardwareReport(gpus=[], driver_version=None,
                                    error="NVIDIA driver not loaded (NVML: Driver Not Loaded)")
    assert not report.has_gpu
    assert nvml.calls == []  # nothing to shut down


def test_missing_nvml_library_says_driver_not_found() -> None:
    nvml = FakeNvml([], init_error=NVMLError(NVML_ERROR_LIBRARY_NOT_FOUND))

    report = read_hardware(nvml)

    assert report.gpus == []
    assert report.error == "NVIDIA driver not found (NVML: NVML Shared Library Not Found)"


def test_os_error_loading_libnvidia_ml_says_driver_not_found() -> None:
    nvml = FakeNvml([], init_error=OSError("libnvidia-ml.so.1: cannot open shared object file"))

    report = read_hardware(nvml)

    assert report.gpus == []
    assert report.error is not None
    assert report.error.startswith("NVIDIA driver not found (NVML: libnvidia-ml.so.1: cannot open")


def test_failure_after_init_gives_no_gpus_and_still_shuts_nvml_down() -> None:
    nvml = FakeNvml(two_rtx_3090s(), count_error=NVMLError(NVML_ERROR_GPU_IS_LOST))

    report = read_hardware(nvml)

    assert report.gpus == []
    assert report.error == "could not read the GPUs (NVML: GPU is lost)"
    assert nvml.calls == ["init", "shutdown"]


def test_one_lost_gpu_is_left_out_and_named_in_the_error() -> None:
    gpus = two_rtx_3090s()
    gpus[1].lost = True

    report = read_hardware(FakeNvml(gpus))

    assert [gpu.index for gpu in report.gpus] == [0]
    assert report.error == "GPU1 could not be read (NVML: GPU is lost)"


def test_each_read_opens_and_closes_nvml() -> None:
    nvml = FakeNvml(two_rtx_3090s())

    read_hardware(nvml)
    read_hardware(nvml)

    assert nvml.calls == ["init", "shutdown", "init", "shutdown"]


def test_without_pynvml_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError

    report = read_hardware()

    assert report.gpus == []
    assert report.error is not None and "nvidia-ml-py" in report.error


def _nvml_library_loads() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def test_real_pynvml_never_raises_and_without_a_driver_reports_no_gpus() -> None:
    """This machine has no NVIDIA driver: the real bindings must turn that into a reason.
    (Where the driver is installed, the same call must give GPUs, or a reason why not.)"""
    for report in (read_hardware(), read_hardware(importlib.import_module("pynvml"))):
        if _nvml_library_loads():
            assert report.has_gpu or report.error
            assert report.driver_version is not None or not report.has_gpu
        else:
            assert report.gpus == [] and not report.has_gpu
            assert report.error == "NVIDIA driver not found (NVML: NVML Shared Library Not Found)"


def test_require_gpu_raises_with_the_reason_when_there_is_no_gpu() -> None:
    report = HardwareReport(gpus=[], error="NVIDIA driver not loaded (NVML: Driver Not Loaded)")

    with pytest.raises(GpuRequired, match=r"no GPU can be used: NVIDIA driver not loaded"):
        require_gpu(report)


def test_require_gpu_accepts_a_machine_with_a_gpu() -> None:
    report = read_hardware(FakeNvml(two_rtx_3090s()))

    require_gpu(report)  # does not raise
    assert isinstance(GpuRequired("x"), RuntimeError)
