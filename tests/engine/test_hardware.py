"""Reading GPUs through NVML: a fake NVML module for the machine's shapes, and the real pynvml
on this machine, which has no NVIDIA driver."""

from __future__ import annotations

import ctypes
import importlib
import sys
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace

import pytest

from engine.hardware import GpuProcess, GpuRequired, HardwareReport, read_hardware, require_gpu

GIB = 1024**3

NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_GPU_IS_LOST = 15
MESSAGES = {
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
}


class NVMLError(Exception):
    """Like pynvml's: carries the NVML return code in `value`."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return MESSAGES.get(self.value, f"NVML error {self.value}")


class NVMLError_NotSupported(NVMLError):
    def __init__(self) -> None:
        super().__init__(NVML_ERROR_NOT_SUPPORTED)


@dataclass
class FakeGpu:
    name: str
    total: int
    used: int
    compute: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, used bytes)
    graphics: list[tuple[int, int | None]] = field(default_factory=list)
    utilization: int = 0
    temperature: int = 35
    power_mw: int = 25_000
    power_limit_mw: int = 350_000
    lost: bool = False  # NVML answers "GPU is lost" for its memory


def two_rtx_3090s() -> list[FakeGpu]:
    """GPU0 drives the desktop (1.5 GiB in use); GPU1 runs a CUDA job."""
    return [
        FakeGpu("NVIDIA GeForce RTX 3090", 24 * GIB, int(1.5 * GIB),
                graphics=[(1234, int(1.2 * GIB)), (1301, int(0.3 * GIB))],
                utilization=7, temperature=41, power_mw=31_500),
        FakeGpu("NVIDIA GeForce RTX 3090", 24 * GIB, 2 * GIB,
                compute=[(4321, 2 * GIB)], graphics=[(4321, 2 * GIB)],
                utilization=93, temperature=70, power_mw=301_250),
    ]


class FakeNvml(ModuleType):
    """Stands in for the `pynvml` module: the functions and errors read_hardware uses."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported
    NVML_ERROR_DRIVER_NOT_LOADED = NVML_ERROR_DRIVER_NOT_LOADED
    NVML_ERROR_LIBRARY_NOT_FOUND = NVML_ERROR_LIBRARY_NOT_FOUND
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, gpus: list[FakeGpu], *, init_error: BaseException | None = None,
                 power_supported: bool = True, old_bindings: bool = False,
                 count_error: BaseException | None = None) -> None:
        super().__init__("pynvml")
        self.gpus = gpus
        self.init_error = init_error
        self.power_supported = power_supported
        self.old_bindings = old_bindings  # C strings come back as bytes
        self.count_error = count_error
        self.process_names = {1234: "/usr/lib/xorg/Xorg", 1301: "gnome-shell", 4321: "python"}
        self.calls: list[str] = []

    def _string(self, text: str) -> str | bytes:
        return text.encode() if self.old_bindings else text

    def _initialised(self) -> None:
        if self.calls.count("init") <= self.calls.count("shutdown"):
            raise NVMLError(1)  # NVML_ERROR_UNINITIALIZED

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.calls.append("init")

    def nvmlShutdown(self) -> None:
        self._initialised()
        self.calls.append("shutdown")

    def nvmlSystemGetDriverVersion(self) -> str | bytes:
        self._initialised()
        return self._string("550.127.05")

    def nvmlDeviceGetCount(self) -> int:
        self._initialised()
        if self.count_error is not None:
            raise self.count_error
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        self._initialised()
        return self.gpus[index]

    def nvmlDeviceGetName(self, handle: FakeGpu) -> str | bytes:
        return self._string(handle.name)

    def nvmlDeviceGetMemoryInfo(self, handle: FakeGpu) -> SimpleNamespace:
        if handle.lost:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        return SimpleNamespace(total=handle.total, used=handle.used, free=handle.total - handle.used)

    def nvmlDeviceGetUtilizationRates(self, handle: FakeGpu) -> SimpleNamespace:
        return SimpleNamespace(gpu=handle.utilization, memory=handle.utilization // 2)

    def nvmlDeviceGetTemperature(self, handle: FakeGpu, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return handle.temperature

    def nvmlDeviceGetPowerUsage(self, handle: FakeGpu) -> int:
        if not self.power_supported:
            raise NVMLError_NotSupported()
        return handle.power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: FakeGpu) -> int:
        if not self.power_supported:
            raise NVMLError_NotSupported()
        return handle.power_limit_mw

    def nvmlDeviceGetComputeRunningProcesses(self, handle: FakeGpu) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in handle.compute]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: FakeGpu) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in handle.graphics]

    def nvmlSystemGetProcessName(self, pid: int) -> str | bytes:
        if pid not in self.process_names:
            raise NVMLError(6)  # NVML_ERROR_NOT_FOUND: e.g. a process in another container
        return self._string(self.process_names[pid])


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
