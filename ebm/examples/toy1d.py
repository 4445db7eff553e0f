"""The seed's 1D illustrative problem (Figure 2 of Gustafsson et al., ECCV 2020).

Data: ``x ~ U(-3, 3)``;
for ``x < 0``: ``y ~ 0.8 N(sin x, 0.075^2) + 0.2 N(-sin x, 0.075^2)`` (bimodal);
for ``x >= 0``: ``y = LogNormal(0, 0.25) - 1`` (skewed).

Two models are trained on fresh samples each step:

(a) an EBM ``p(y|x) = exp f(x, y) / Z(x)``, ``f`` a small MLP, trained with ML-IS
    (:func:`ebm.losses.ml_is_loss`) and a 1D Gaussian-mixture proposal centred at the
    ground truth;
(b) a Gaussian model, MLP ``x -> (mean, log var)``, trained with :func:`ebm.losses.gaussian_nll`.

Both are compared with the true ``p(y|x)`` on an (x, y) grid: every model's density is
normalised over y on the grid (:func:`ebm.density.normalised_density`) and
``KL(p_true(.|x) || p_model(.|x))`` is averaged over the x grid. A PNG with the three
densities is written.

Proposal choice (sigmas 0.05, 0.25, 1.0, equal weights): the narrow component is below
the narrowest scale in the data (0.075), so the peaks of f are probed finely; the wide one
covers the distance between the two modes (``2 |sin x|``, up to 2) and the whole y range,
so mass that f puts far from the ground truth is seen by the estimate of Z and pushed
down; the middle one fills the log-normal's spread (about 0.25-0.5).

Run: ``python -m ebm.examples.toy1d [--out docs/toy1d.png] [--iters N] [--seed S] [--device cpu] [--threads 1]``.
Default: 1500 steps per model, EBM batch 32 x M = 1024 proposals; about 30 s of CPU time.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any, Optional, Union

import torch
from torch import nn
from tqdm import tqdm

from ebm.density import grid_1d, kl_divergence, normalised_density
from ebm.losses import gaussian_nll, ml_is_loss
from ebm.proposals import GaussianMixtureProposal

__all__ = ["sample_data", "true_log_density", "EnergyNet", "GaussianNet", "main"]

X_RANGE = (-3.0, 3.0)
Y_RANGE = (-3.0, 3.0)
MODE_STD = 0.075
LOGNORMAL_SIGMA = 0.25
PROPOSAL_SIGMAS = (0.05, 0.25, 1.0)
_LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------- data
def sample_data(
    num: int, generator: torch.Generator, device: Union[str, torch.device] = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``num`` pairs ``(x [num], y [num])`` from the toy distribution (see module docstring)."""
    x = torch.rand(num, generator=generator) * (X_RANGE[1] - X_RANGE[0]) + X_RANGE[0]
    major = torch.rand(num, generator=generator) < 0.8
    mode_mean = torch.where(major, torch.sin(x), -torch.sin(x))
    y_bimodal = mode_mean + MODE_STD * torch.randn(num, generator=generator)
    y_skewed = torch.exp(LOGNORMAL_SIGMA * torch.randn(num, generator=generator)) - 1.0
    y = torch.where(x < 0, y_bimodal, y_skewed)
    return x.to(device), y.to(device)


def _log_normal_pdf(y: torch.Tensor, mean: torch.Tensor, std: float) -> torch.Tensor:
    return -0.5 * ((y - mean) / std) ** 2 - math.log(std) - 0.5 * _LOG_2PI


def true_log_density(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Closed-form ``log p(y|x)`` (broadcasting ``x`` against ``y``); ``-inf`` outside the support.

    ``x < 0``: ``log(0.8 N(y; sin x, 0.075^2) + 0.2 N(y; -sin x, 0.075^2))``.
    ``x >= 0``: shifted log-normal, ``u = y + 1 > 0``:
    ``log p = -log u - log 0.25 - 0.5 log 2 pi - (log u)^2 / (2 * 0.25^2)``.
    """
    x, y = torch.broadcast_tensors(x, y)
    bimodal = torch.logsumexp(
        torch.stack(
            [
                math.log(0.8) + _log_normal_pdf(y, torch.sin(x), MODE_STD),
                math.log(0.2) + _log_normal_pdf(y, -torch.sin(x), MODE_STD),
            ]
        ),
        dim=0,
    )
    u = y + 1.0
    positive = u > 0
    log_u = torch.log(torch.where(positive, u, torch.ones_like(u)))
    skewed = -log_u + _log_normal_pdf(log_u, torch.zeros_like(log_u), LOGNORMAL_SIGMA)
    skewed = torch.where(positive, skewed, torch.full_like(skewed, -math.inf))
    return torch.where(x < 0, bimodal, skewed)


# ----------------------------------------------------------------------------- models
class EnergyNet(nn.Module):
    """``f(x, y)``: x and y embedded separately (x once per input, y per sample), then a joint head.

    ``forward(x [B], y [B, M]) -> f [B, M]``.
    """

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.x_net = nn.Sequential(
            nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden)
        )
        self.y_net = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x_feat = self.x_net(x[:, None])  # [B, H]
        y_feat = self.y_net(y[..., None])  # [B, M, H]
        return self.head(x_feat[:, None, :] + y_feat)[..., 0]


class GaussianNet(nn.Module):
    """``x [B] -> (mean [B], log_var [B])`` of a Gaussian ``p(y|x)``."""

    def __init__(self, hidden: int = 48) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(1, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 2),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x[:, None])
        return out[:, 0], out[:, 1]


# ----------------------------------------------------------------------------- training
def _optimiser(
    model: nn.Module, iters: int, lr: float
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, iters), eta_min=lr * 0.05)
    return opt, sched


def train_ebm(
    iters: int,
    batch_size: int,
    num_samples: int,
    generator: torch.Generator,
    device: torch.device,
    lr: float = 2e-3,
    hidden: int = 32,
    progress: bool = True,
) -> EnergyNet:
    """Train :class:`EnergyNet` with ML-IS, samples ``y_m ~ q(.|y_i)`` from the 1D mixture ``PROPOSAL_SIGMAS``."""
    model = EnergyNet(hidden).to(device)
    proposal = GaussianMixtureProposal([[s] for s in PROPOSAL_SIGMAS])
    opt, sched = _optimiser(model, iters, lr)
    sample_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    sample_gen = torch.Generator(device=device).manual_seed(sample_seed)
    bar = tqdm(range(iters), desc="EBM (ML-IS)", disable=not progress, mininterval=1.0)
    for _ in bar:
        x, y = sample_data(batch_size, generator, device)
        samples = proposal.sample(y[:, None], num_samples, generator=sample_gen)  # [B, M, 1]
        log_q = proposal.log_prob(samples, y[:, None])
        scores = model(x, torch.cat([y[:, None], samples[..., 0]], dim=1))  # [B, 1 + M]
        loss = ml_is_loss(scores[:, 0], scores[:, 1:], log_q)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    return model


def train_gaussian(
    iters: int,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
    lr: float = 2e-3,
    progress: bool = True,
) -> GaussianNet:
    """Train :class:`GaussianNet` with the Gaussian negative log-likelihood."""
    model = GaussianNet().to(device)
    opt, sched = _optimiser(model, iters, lr)
    bar = tqdm(range(iters), desc="Gaussian (NLL)", disable=not progress, mininterval=1.0)
    for _ in bar:
        x, y = sample_data(batch_size, generator, device)
        mean, log_var = model(x)
        loss = gaussian_nll(mean, log_var, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    return model


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def grid_densities(
    ebm_model: EnergyNet, gaussian_model: GaussianNet, num_x: int, num_y: int, device: torch.device
) -> dict[str, Any]:
    """Normalised ``p(y|x)`` ``[num_x, num_y]`` of the truth and both models on a cell-centred grid."""
    xs = grid_1d(*X_RANGE, num_x)[0][:, 0].to(device)
    ys, dy = grid_1d(*Y_RANGE, num_y)
    ys = ys[:, 0].to(device)
    p_true = normalised_density(true_log_density(xs[:, None], ys[None, :]), dy)
    p_ebm = normalised_density(ebm_model(xs, ys.expand(num_x, -1)), dy)
    mean, log_var = gaussian_model(xs)
    log_gauss = -0.5 * (ys[None, :] - mean[:, None]) ** 2 * torch.exp(-log_var[:, None]) - 0.5 * log_var[:, None]
    p_gauss = normalised_density(log_gauss, dy)
    return {
        "xs": xs.cpu(),
        "ys": ys.cpu(),
        "dy": dy,
        "true": p_true.cpu(),
        "ebm": p_ebm.cpu(),
        "gaussian": p_gauss.cpu(),
    }


def save_figure(dens: dict[str, Any], kl_gauss: float, kl_ebm: float, out: Path) -> None:
    """Three panels (true / Gaussian / EBM) of p(y|x) as images over (x, y); matplotlib Agg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    extent = (X_RANGE[0], X_RANGE[1], Y_RANGE[0], Y_RANGE[1])
    vmax = float(torch.quantile(dens["true"].flatten(), 0.995))
    panels = [
        ("true p(y|x)", dens["true"]),
        (f"Gaussian NLL, KL = {kl_gauss:.3f}", dens["gaussian"]),
        (f"EBM (ML-IS), KL = {kl_ebm:.3f}", dens["ebm"]),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    for ax, (title, dens_xy) in zip(axes, panels):
        ax.imshow(dens_xy.T.numpy(), origin="lower", extent=extent, aspect="auto", cmap="viridis", vmin=0.0, vmax=vmax)
        ax.set_title(title)
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)


def main(
    out: Union[str, Path, None] = "docs/toy1d.png",
    iters: int = 1500,
    seed: int = 0,
    device: Union[str, torch.device] = "cpu",
    batch_size: int = 32,
    num_samples: int = 1024,
    hidden: int = 32,
    gaussian_iters: Optional[int] = None,
    grid_x: int = 200,
    grid_y: int = 400,
    progress: bool = True,
) -> dict[str, Any]:
    """Train both models, compare with the truth, write the figure (unless ``out`` is None).

    Returns ``{'kl_ebm', 'kl_gaussian', 'out', 'seconds', 'cpu_seconds'}``; KLs are averaged over the x grid.
    """
    if iters < 1:
        raise ValueError(f"iters must be >= 1, got {iters}")
    start = time.perf_counter()
    cpu_start = time.process_time()
    device = torch.device(device)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    ebm_model = train_ebm(iters, batch_size, num_samples, generator, device, hidden=hidden, progress=progress)
    gaussian_model = train_gaussian(gaussian_iters or iters, 256, generator, device, progress=progress)
    ebm_model.eval()
    gaussian_model.eval()
    dens = grid_densities(ebm_model, gaussian_model, grid_x, grid_y, device)
    kl_ebm = float(kl_divergence(dens["true"], dens["ebm"], dens["dy"]).mean())
    kl_gauss = float(kl_divergence(dens["true"], dens["gaussian"], dens["dy"]).mean())
    out_path = None
    if out is not None:
        out_path = Path(out)
        save_figure(dens, kl_gauss, kl_ebm, out_path)
    return {
        "kl_ebm": kl_ebm,
        "kl_gaussian": kl_gauss,
        "out": out_path,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ebm.examples.toy1d",
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--out", default="docs/toy1d.png", help="output PNG path")
    parser.add_argument("--iters", type=int, default=1500, help="training steps per model")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, models and sampling")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument(
        "--torch_threads",
        type=int,
        default=1,
        help="torch CPU threads; 1 is fastest for these small matrices (more threads only add sync overhead, "
        "which explodes on a busy machine)",
    )
    # the former spelling, hidden (ebm imports torch only, so no shared helper here)
    parser.add_argument("--threads", dest="torch_threads", type=int, default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)
    return parser


def _parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def cli(argv: Optional[list[str]] = None) -> dict[str, Any]:
    args = _parse_args(argv)
    if args.torch_threads < 1:
        raise ValueError(f"--torch_threads must be >= 1, got {args.torch_threads}")
    torch.set_num_threads(args.torch_threads)
    result = main(out=args.out, iters=args.iters, seed=args.seed, device=args.device)
    print(f"KL(true || Gaussian) = {result['kl_gaussian']:.4f}  (averaged over x)")
    print(f"KL(true || EBM)      = {result['kl_ebm']:.4f}  (averaged over x)")
    lower = "EBM" if result["kl_ebm"] < result["kl_gaussian"] else "Gaussian"
    print(f"Lower KL: {lower}.  Figure: {result['out']}")
    print(f"Time: {result['seconds']:.1f} s wall, {result['cpu_seconds']:.1f} s CPU")
    return result


if __name__ == "__main__":
    cli()
