"""The CPU thread/worker rule (``pytracking.utils.cpu_resources``) on a generated sysfs topology."""
from __future__ import annotations

from pathlib import Path

from pytracking.utils import cpu_resources


def _topology(root: Path, cores: dict[int, tuple[int, int]]) -> Path:
    for cpu, (package, core) in cores.items():
        d = root / f"cpu{cpu}" / "topology"
        d.mkdir(parents=True)
        (d / "physical_package_id").write_text(f"{package}\n")
        (d / "core_id").write_text(f"{core}\n")
    return root


def test_smt_siblings_count_once(tmp_path):
    # 4 logical CPUs, 2 cores with 2 hyperthreads each; a second package reuses core ids
    sysfs = _topology(tmp_path, {0: (0, 0), 1: (0, 1), 2: (0, 0), 3: (0, 1), 4: (1, 0), 5: (1, 0)})
    assert cpu_resources.physical_cores([0, 1, 2, 3], sysfs) == 2
    assert cpu_resources.physical_cores([0, 2], sysfs) == 1          # affinity on two siblings of one core
    assert cpu_resources.physical_cores([0, 1, 2, 3, 4, 5], sysfs) == 3


def test_no_topology_falls_back_to_logical_count(tmp_path):
    assert cpu_resources.physical_cores([0, 1, 2], tmp_path) == 3


def test_defaults_follow_the_cores(monkeypatch):
    monkeypatch.setattr(cpu_resources, "physical_cores", lambda *a, **k: 1)
    assert cpu_resources.default_workers() == 0 and cpu_resources.default_torch_threads() == 1
    monkeypatch.setattr(cpu_resources, "physical_cores", lambda *a, **k: 6)
    assert cpu_resources.default_workers() == 6 and cpu_resources.default_torch_threads() == 6
    assert set(cpu_resources.usable_cpus()) <= set(range(4096))
