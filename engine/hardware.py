"""The GPUs of this machine, read through NVML (`pynvml`, from NVIDIA's `nvidia-ml-py`).

`read_hardware` never raises: on a machine without an NVIDIA driver (or without `pynvml`) it
returns a report with no GPUs and an `error` a person can read. It opens NVML, reads, and shuts
NVML down again on every call; no handle is kept between calls. The module to read through can
be passed in, so tests give it a fake.

Indices are NVML's (PCI bus order). CUDA numbers GPUs fastest-first unless the engine runs with
CUDA_DEVICE_ORDER=PCI_BUS_ID, so whoever starts vLLM on `gpus = [...]` should set that.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class GpuProcess:
    pid: int
    used_memory_bytes: int | None  # None where the driver does not say (e.g. Windows WDDM)
    name: str | None  # None when the name cannot be read (another container, no permission)


@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    memory_total_bytes: int
    memory_used_bytes: int
    memory_free_bytes: int
    utilization_percent: int | None = None
    temperature_c: int | None = None
    power_watts: float | None = None
    power_limit_watts: float | None = None
    processes: list[GpuProcess] = field(default_factory=list)


@dataclass(frozen=True)
class HardwareReport:
    gpus: list[GpuInfo]
    driver_version: str | None = None
    error: str | None = None

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus)


class GpuRequired(RuntimeError):
    """REQUIRE_GPU is set and no GPU can be used; the message says why."""


def require_gpu(report: HardwareReport) -> None:
    if not report.has_gpu:
        raise GpuRequired(f"REQUIRE_GPU is set but no GPU can be used: {report.error or 'no GPU found'}")


def _text(value: object) -> str:
    """Old bindings return C strings as bytes."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _nvml_errors(nvml: ModuleType) -> tuple[type[BaseException], ...]:
    """What the bindings raise: NVMLError (and its NotSupported, NoPermission... subclasses), and
    NVMLLibraryMismatchError, which newer bindings raise for functions an old driver lacks."""
    errors: list[type[BaseException]] = [nvml.NVMLError]
    mismatch = getattr(nvml, "NVMLLibraryMismatchError", None)
    if isinstance(mismatch, type) and issubclass(mismatch, BaseException):
        errors.append(mismatch)
    return tuple(errors)


def _start_error(nvml: ModuleType, exc: BaseException) -> str:
    """A message for a failed nvmlInit that says what to do about it."""
    value = getattr(exc, "value", None)
    known = {
        getattr(nvml, "NVML_ERROR_LIBRARY_NOT_FOUND", object()): "NVIDIA driver not found",
        getattr(nvml, "NVML_ERROR_DRIVER_NOT_LOADED", object()): "NVIDIA driver not loaded",
        getattr(nvml, "NVML_ERROR_NO_PERMISSION", object()): "no permission to read the GPUs",
        getattr(nvml, "NVML_ERROR_LIB_RM_VERSION_MISMATCH", object()):
            "NVIDIA driver and its library do not match (reboot after a driver update)",
    }
    headline = known.get(value, "NVIDIA driver not usable")
    return f"{headline} (NVML: {exc})"


def read_hardware(nvml: ModuleType | None = None) -> HardwareReport:
    """Every GPU NVML sees, with memory, load, power and processes. Never raises."""
    if nvml is None:
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError as exc:
            return HardwareReport(gpus=[], error=f"pynvml is not installed (pip install nvidia-ml-py): {exc}")
    try:
        errors = _nvml_errors(nvml)
    except AttributeError:
        return HardwareReport(gpus=[], error="the pynvml module has no NVMLError: not NVIDIA's bindings")
    try:
        nvml.nvmlInit()
    except errors as exc:
        return HardwareReport(gpus=[], error=_start_error(nvml, exc))
    except OSError as exc:  # libnvidia-ml present but unloadable (old bindings let this through)
        return HardwareReport(gpus=[], error=f"NVIDIA driver not found (NVML: {exc})")
    except Exception as exc:  # never raise: the app must start without a GPU
        return HardwareReport(gpus=[], error=f"NVML could not start: {type(exc).__name__}: {exc}")
    try:
        return _read(nvml, errors)
    except errors as exc:
        return HardwareReport(gpus=[], error=f"could not read the GPUs (NVML: {exc})")
    except Exception as exc:
        return HardwareReport(gpus=[], error=f"could not read the GPUs: {type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(Exception):  # nothing useful to do when shutting down fails
            nvml.nvmlShutdown()


class _Optional:
    """Reads a field this GPU or driver may not support (NVMLError_NotSupported and the like):
    None instead of a failed report."""

    def __init__(self, errors: tuple[type[BaseException], ...]) -> None:
        self.errors = errors

    def __call__(self, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except self.errors:
            return None


def _read(nvml: ModuleType, errors: tuple[type[BaseException], ...]) -> HardwareReport:
    optional = _Optional(errors)
    driver = optional(lambda: _text(nvml.nvmlSystemGetDriverVersion()))
    gpus: list[GpuInfo] = []
    unreadable: list[str] = []
    for index in range(int(nvml.nvmlDeviceGetCount())):
        try:
            gpus.append(_read_gpu(nvml, index, optional))
        except errors as exc:  # e.g. "GPU is lost": report the others, and say which one failed
            unreadable.append(f"GPU{index} could not be read (NVML: {exc})")
    return HardwareReport(gpus=gpus, driver_version=driver, error="; ".join(unreadable) or None)


def _read_gpu(nvml: ModuleType, index: int, optional: _Optional) -> GpuInfo:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    name = _text(nvml.nvmlDeviceGetName(handle))
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    utilization = optional(lambda: int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu))
    temperature = optional(lambda: int(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)))
    power_mw = optional(lambda: nvml.nvmlDeviceGetPowerUsage(handle))  # milliwatts
    limit_mw = optional(lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle))
    return GpuInfo(
        index=index,
        name=name,
        memory_total_bytes=int(memory.total),
        memory_used_bytes=int(memory.used),
        memory_free_bytes=int(memory.free),
        utilization_percent=utilization,
        temperature_c=temperature,
        power_watts=None if power_mw is None else power_mw / 1000.0,
        power_limit_watts=None if limit_mw is None else limit_mw / 1000.0,
        processes=_processes(nvml, handle, optional),
    )


def _processes(nvml: ModuleType, handle: object, optional: _Optional) -> list[GpuProcess]:
    """Compute (CUDA) and graphics (desktop) processes, once each by pid."""
    found: dict[int, GpuProcess] = {}
    for reader in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        function = getattr(nvml, reader, None)
        if function is None:
            continue
        for entry in optional(functools.partial(function, handle)) or []:
            pid = int(entry.pid)
            if pid in found:
                continue
            used = getattr(entry, "usedGpuMemory", None)
            name = optional(functools.partial(nvml.nvmlSystemGetProcessName, pid))
            found[pid] = GpuProcess(pid=pid, used_memory_bytes=None if used is None else int(used),
                                    name=_text(name) if name else None)
    return list(found.values())
