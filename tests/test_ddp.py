"""Two-process DDP (gloo, CPU) on the tiny setting: ranks train, draw different pairs, end with equal weights."""
import os
import socket

import torch
import torch.multiprocessing as mp

from ltr.admin.local_settings import load_settings
from ltr.admin.settings import TrainSettings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, workspace: str) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"})
    torch.set_num_threads(1)
    from ltr.admin.multigpu import cleanup_distributed
    from ltr.train_settings.bbreg import common, tiny
    from ltr.trainers import LTRTrainer

    settings = TrainSettings(module_name="bbreg", script_name="tiny", device="cpu", workspace=workspace,
                             env=load_settings(os.path.join(workspace, "absent.toml")), epochs=1,
                             show_progress=False, use_tensorboard=False)
    job = common.build_job(tiny.config(settings), settings)
    first_batch = next(iter(job.loaders[0]))
    trainer = LTRTrainer(job.actor, job.loaders, job.optimizer, settings, job.lr_scheduler)
    trainer.train(1)
    torch.save({"state": trainer.net.state_dict(), "images": first_batch["test_images"],
                "rank": settings.dist.rank}, os.path.join(workspace, f"rank{rank}.pt"))
    cleanup_distributed()


def test_two_process_gloo_training(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert (r0["rank"], r1["rank"]) == (0, 1)
    assert not torch.equal(r0["images"], r1["images"])  # ranks draw different pairs
    for key, value in r0["state"].items():
        assert torch.equal(value, r1["state"][key]), key  # gradients were averaged: identical weights
    checkpoints = list((tmp_path / "checkpoints" / "bbreg" / "tiny").glob("*.pth"))
    assert [p.name for p in checkpoints] == ["tiny_ep0001.pth"]  # written by rank 0 only
