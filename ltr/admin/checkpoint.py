"""Training checkpoints: atomic writes, safe loading, rebuilding networks from the registry.

A checkpoint is a plain dictionary of tensors and plain containers (dict, list, tuple, str, int,
float, bool, None) -- never a pickled object -- so it always loads with
``torch.load(weights_only=True)``. Keys:

- ``version``         format version (:data:`CHECKPOINT_VERSION`);
- ``network``         ``{'name': registered constructor, 'kwargs': its keyword arguments}``;
- ``net``             the network's ``state_dict``;
- ``optimizer``, ``lr_scheduler``  their ``state_dict`` (or None);
- ``epoch``           last completed epoch (1-based);
- ``stats``           plain per-epoch statistics;
- ``settings_name``   e.g. ``'bbreg/atom_ebm_paper'``;
- ``rng``             RNG states: torch (ByteTensor), cuda (list of ByteTensors, if available),
  numpy (the MT19937 state as tensors and ints), python ``random`` (as a list).

Exported weights (:func:`export_weights`) hold only ``version``, ``network``, ``net`` (cast to a
smaller float type) and ``dtype``, with a ``<file>.sha256`` sidecar (``sha256sum`` format).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import zipfile
import zlib
import pickle
import random
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

__all__ = [
    "CHECKPOINT_VERSION",
    "save_checkpoint",
    "load_checkpoint",
    "load_network",
    "export_weights",
    "network_constructor",
    "get_rng_states",
    "set_rng_states",
    "atomic_torch_save",
    "sha256_of",
]

CHECKPOINT_VERSION = 1

_PLAIN_SCALARS = (str, int, float, bool, type(None))


def unwrap_network(net: nn.Module) -> nn.Module:
    """The bare network inside a ``DistributedDataParallel``/``DataParallel`` wrapper (or ``net``)."""
    while hasattr(net, "module") and isinstance(net.module, nn.Module):
        net = net.module
    return net


def network_constructor(net: nn.Module) -> dict[str, Any]:
    """``{'name', 'kwargs'}`` of the registered constructor that built ``net``.

    The registry sets ``net.constructor``; accepted forms: a mapping with ``name`` and ``kwargs``,
    a ``(name, kwargs)`` pair, or an object with ``.name`` and ``.kwargs`` attributes.
    """
    net = unwrap_network(net)
    ctor = getattr(net, "constructor", None)
    if ctor is None:
        raise ValueError(
            f"net ({type(net).__name__}) has no 'constructor' attribute: build networks with "
            "ltr.models.registry.build(name, **kwargs) so that checkpoints can rebuild them")
    if isinstance(ctor, Mapping):
        name, kwargs = ctor.get("name"), ctor.get("kwargs", {})
    elif isinstance(ctor, (tuple, list)) and len(ctor) == 2:
        name, kwargs = ctor
    else:
        name, kwargs = getattr(ctor, "name", None), getattr(ctor, "kwargs", {})
    if not isinstance(name, str) or not isinstance(kwargs, Mapping):
        raise ValueError(f"net.constructor must give a name (str) and kwargs (dict), got {ctor!r}")
    kwargs = _to_plain(dict(kwargs), "net.constructor kwargs")
    return {"name": name, "kwargs": kwargs}


def _to_plain(value: Any, what: str) -> Any:
    """Recursively convert to tensors/plain containers; raise ValueError for anything else."""
    if isinstance(value, _PLAIN_SCALARS) or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {_to_plain(k, what): _to_plain(v, what) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_to_plain(v, what) for v in value]
        return items if isinstance(value, list) else tuple(items)
    raise ValueError(f"{what}: value of type {type(value).__name__} cannot be stored in a checkpoint "
                     "(only tensors, numbers, strings and lists/dicts of them)")


# ----------------------------------------------------------------------------------------- RNG states
def get_rng_states() -> dict[str, Any]:
    """All global RNG states (torch, cuda if available, numpy, python ``random``) as plain data."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": str(np_state[0]), "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": [int(py_state[0]), list(py_state[1]), py_state[2]],
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: Mapping[str, Any]) -> None:
    """Restore the states written by :func:`get_rng_states` (cuda only where available)."""
    torch.set_rng_state(states["torch"])
    npst = states["numpy"]
    np.random.set_state((npst["name"], npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached_gaussian"]))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in states and torch.cuda.is_available():
        cuda_states = states["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


# ----------------------------------------------------------------------------------------- writing
def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file in the target folder, fsync, then ``os.replace``.

    Readers see either the previous file or the complete new one, never a partial file; on any
    error the temporary file is removed and the error propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return path


def save_checkpoint(path: str | os.PathLike, net: nn.Module, optimizer: torch.optim.Optimizer | None,
                    lr_scheduler: Any | None, epoch: int, stats: Mapping[str, Any] | None = None,
                    settings_name: str = "", rng_states: Mapping[str, Any] | None = None,
                    extra: Mapping[str, Any] | None = None) -> Path:
    """Write a training checkpoint atomically (see module docstring for the content).

    ``rng_states`` defaults to the current global states (:func:`get_rng_states`). ``extra``: more
    trainer state of plain types (e.g. the gradient scaler of mixed precision), stored under ``"extra"``.
    """
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
    bare = unwrap_network(net)
    state = {
        "version": CHECKPOINT_VERSION,
        "network": network_constructor(bare),
        "net": bare.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "lr_scheduler": lr_scheduler.state_dict() if lr_scheduler is not None else None,
        "epoch": int(epoch),
        "stats": _to_plain(dict(stats or {}), "stats"),
        "settings_name": str(settings_name),
        "rng": _to_plain(dict(rng_states if rng_states is not None else get_rng_states()), "rng_states"),
        "extra": _to_plain(dict(extra or {}), "extra"),
    }
    return atomic_torch_save(state, path)


# ----------------------------------------------------------------------------------------- reading
def _check_zip_integrity(path: Path) -> None:
    """Verify the CRC-32 of every entry of a torch zip file (torch.load does not): bit rot is refused."""
    if not zipfile.is_zipfile(path):
        return  # legacy format: torch.load reports what it can
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise ValueError(f"cannot read checkpoint {path}: damaged zip container ({err})") from err
    if bad is not None:
        raise ValueError(f"checkpoint {path} is corrupt: entry '{bad}' fails its CRC-32 check")


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``.

    A file that carries a pickled arbitrary object is refused with a ``ValueError`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint file not found: {path}")
    _check_zip_integrity(path)
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"refusing to load {path}: it contains pickled Python objects, which are not allowed in "
            f"checkpoints (only tensors and plain containers load with weights_only=True). Details: "
            f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from err
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(f"cannot read checkpoint {path}: {type(err).__name__}: {err}") from err
    if not isinstance(data, dict) or "net" not in data:
        raise ValueError(f"{path} is not a checkpoint of this framework (no 'net' entry)")
    return data


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sidecar(path: Path) -> None:
    sidecar = path.with_name(path.name + ".sha256")
    if not sidecar.is_file():
        return
    expected = sidecar.read_text().split()
    if not expected:
        raise ValueError(f"{sidecar}: empty checksum file")
    actual = sha256_of(path)
    if expected[0].lower() != actual:
        raise ValueError(f"{path}: SHA-256 {actual} does not match {sidecar} ({expected[0]}); "
                         "the file is corrupt or was changed")


def load_network(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the network stored in a checkpoint (or exported weights) and load its weights.

    The network is built with ``ltr.models.registry.build(name, **kwargs)``; a checksum sidecar
    (``<file>.sha256``) is verified when present. Keys that do not match the rebuilt network give
    a ``ValueError`` naming the file, the constructor and the offending keys.
    """
    from ltr.models import registry  # imported here: checkpoint I/O does not need the models

    path = Path(path)
    if path.is_file():
        _check_sidecar(path)
    data = load_checkpoint(path, map_location="cpu")
    ctor = data.get("network")
    if not isinstance(ctor, dict) or not isinstance(ctor.get("name"), str):
        raise ValueError(f"{path}: no network constructor stored (key 'network')")
    kwargs = dict(ctor.get("kwargs") or {})
    net = registry.build(ctor["name"], **kwargs)
    state = data["net"]
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shape_mismatch = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or shape_mismatch:
        def few(keys: list[str]) -> str:
            return ", ".join(keys[:5]) + (f" ... ({len(keys)} in all)" if len(keys) > 5 else "")
        raise ValueError(
            f"{path}: weights do not fit network '{ctor['name']}'({kwargs}): "
            f"missing keys [{few(missing)}], unexpected keys [{few(unexpected)}], "
            f"shape mismatch [{few(shape_mismatch)}]")
    net.load_state_dict(state)
    return net.to(device).eval()


def export_weights(ckpt: str | os.PathLike, out: str | os.PathLike, dtype: torch.dtype = torch.float16) -> Path:
    """Write a weights-only file (floating tensors cast to ``dtype``) plus ``<out>.sha256``.

    Integer buffers (e.g. BatchNorm's ``num_batches_tracked``) keep their type. ``load_network``
    casts the weights back to the network's dtype on loading.
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    data = load_checkpoint(ckpt, map_location="cpu")
    state = {k: (v.to(dtype) if torch.is_floating_point(v) else v) for k, v in data["net"].items()}
    out = atomic_torch_save({"version": CHECKPOINT_VERSION, "network": data["network"], "net": state,
                             "dtype": str(dtype).replace("torch.", "")}, out)
    digest = sha256_of(out)
    sidecar = out.with_name(out.name + ".sha256")
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(f"{digest}  {out.name}\n")
    os.replace(tmp, sidecar)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ltr.admin.checkpoint", description="Inspect or export checkpoints.")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="print a checkpoint's network, epoch and statistics")
    info.add_argument("checkpoint", help="checkpoint file (.pth.tar)")
    export = sub.add_parser("export", help="write weights only, cast to --dtype, with a .sha256 sidecar")
    export.add_argument("checkpoint", help="checkpoint file (.pth.tar)")
    export.add_argument("out", help="weights file to write (.pth)")
    export.add_argument("--dtype", default="float16", choices=["float16", "bfloat16", "float32"],
                        help="dtype of the exported weights (default float16)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """``python -m ltr.admin.checkpoint info CKPT`` | ``export CKPT OUT [--dtype float16]``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "info":
        data = load_checkpoint(args.checkpoint)
        num = sum(v.numel() for v in data["net"].values())
        print(f"{args.checkpoint}: network {data.get('network')}, epoch {data.get('epoch')}, "
              f"setting {data.get('settings_name')}, {num} values")
        for epoch, stats in (data.get("stats") or {}).items():
            print(f"  epoch {epoch}: {stats}")
    else:
        out = export_weights(args.checkpoint, args.out, getattr(torch, args.dtype))
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) and {out.name}.sha256")


if __name__ == "__main__":
    main()
