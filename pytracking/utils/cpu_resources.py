"""How many CPU cores this process may use, and the thread/worker defaults derived from them.

The rule (used by ``run_demo``'s worker count and ``benchmark_tracker``'s ``--torch_threads`` default):

* usable CPUs = the process's affinity mask (``os.sched_getaffinity(0)``: what a container, ``taskset`` or a
  batch scheduler allows), else ``os.cpu_count()``;
* physical cores = the distinct ``(physical_package_id, core_id)`` pairs of the usable CPUs (Linux
  ``/sys/devices/system/cpu/cpuN/topology``), else the usable CPU count: SMT siblings share one core's vector
  units, so a second torch thread on a sibling buys little for this tracker's convolutions and matrix products;
* one tracker (benchmark, live video): intra-op threads = physical cores;
* an evaluation pool: one worker process per physical core, one torch thread each (sequences are independent,
  which scales better than intra-op threads); in-process (0 workers) on a single core.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["usable_cpus", "physical_cores", "default_torch_threads", "default_workers"]


def usable_cpus() -> list[int]:
    """Logical CPU ids this process may run on (affinity mask; all CPUs where the OS has none)."""
    if hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if cpus:
            return cpus
    return list(range(os.cpu_count() or 1))


def physical_cores(cpus: list[int] | None = None, sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """Distinct physical cores among ``cpus`` (default :func:`usable_cpus`); ``len(cpus)`` without topology files."""
    cpus = usable_cpus() if cpus is None else list(cpus)
    cores = set()
    for cpu in cpus:
        topology = sysfs / f"cpu{cpu}" / "topology"
        try:
            cores.add((topology.joinpath("physical_package_id").read_text().strip(),
                       topology.joinpath("core_id").read_text().strip()))
        except OSError:
            return max(len(cpus), 1)
    return max(len(cores), 1)


def default_torch_threads() -> int:
    """Intra-op threads for one tracker: the physical cores this process may use."""
    return physical_cores()


def default_workers() -> int:
    """Worker processes of an evaluation pool: one per physical core; 0 (in-process) on a single core."""
    cores = physical_cores()
    return cores if cores >= 2 else 0
