"""TEST DOUBLE: a stand-in for the `pynvml` module (two RTX 3090s by default), for code that
reads GPUs through NVML on machines without a GPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace

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
