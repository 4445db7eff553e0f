"""Gauss-Newton and conjugate gradient for small least-squares problems (online learning).

Variables are a tensor or a list of tensors (``list[Tensor]``, treated as one flat vector
with the inner product ``<a, b> = sum_i sum(a_i * b_i)``).

* :func:`conjugate_gradient` solves ``A x = b`` for a symmetric positive (semi-)definite
  linear operator given as a function ``apply_A(x) -> A x`` (same structure as ``x``).
* :func:`gauss_newton` minimises ``L(x) = ||r(x)||^2`` for a residual function ``r``.
  Each outer step linearises ``r(x + p) ~ r(x) + J p`` and solves the normal equations
  ``(J^T J + mu I) p = -J^T r`` with a few CG iterations. ``J^T v`` is one backward pass;
  ``J p`` uses the double-backward trick: ``g(u) = J^T u`` is linear in ``u``, so
  ``J p = d<g(u), p>/du``. No Jacobian is ever formed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence, Union

import torch

Variables = Union[torch.Tensor, Sequence[torch.Tensor]]

__all__ = [
    "CGResult",
    "GNResult",
    "conjugate_gradient",
    "gauss_newton",
    "inner",
]


def _as_list(x: Variables, name: str) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(t, torch.Tensor) for t in x):
        return list(x)
    raise ValueError(f"{name} must be a tensor or a non-empty list of tensors, got {type(x).__name__}")


def inner(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    """``<a, b> = sum_i sum(a_i * b_i)`` over lists of tensors (a 0-dim tensor)."""
    return sum((ai * bi).sum() for ai, bi in zip(a, b))  # type: ignore[return-value]


def _axpy(alpha: torch.Tensor | float, x: Sequence[torch.Tensor], y: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    return [yi + alpha * xi for xi, yi in zip(x, y)]


@dataclass
class CGResult:
    """Solution ``x`` (same structure as ``b``) and ``||b - A x_k||`` for k = 0..iterations."""

    x: Variables
    residual_norms: list[float] = field(default_factory=list)


def conjugate_gradient(
    apply_A: Callable[[list[torch.Tensor]], Sequence[torch.Tensor]],
    b: Variables,
    x0: Variables | None = None,
    num_iter: int = 10,
    tol: float = 0.0,
) -> CGResult:
    """Solve ``A x = b`` (A symmetric positive definite) by conjugate gradient.

    ``apply_A`` receives and returns a list of tensors shaped like ``b``. Stops after
    ``num_iter`` iterations or when ``||r|| <= tol * ||b||``. Iteration:
    ``alpha = <r, r> / <p, A p>``, ``x += alpha p``, ``r -= alpha A p``,
    ``beta = <r', r'> / <r, r>``, ``p = r' + beta p``.
    """
    if num_iter < 0:
        raise ValueError(f"num_iter must be >= 0, got {num_iter}")
    single = isinstance(b, torch.Tensor)
    b_list = _as_list(b, "b")
    if x0 is None:
        x = [torch.zeros_like(t) for t in b_list]
        r = [t.clone() for t in b_list]
    else:
        x = [t.clone() for t in _as_list(x0, "x0")]
        if len(x) != len(b_list) or any(xi.shape != bi.shape for xi, bi in zip(x, b_list)):
            raise ValueError("x0 must have the same structure and shapes as b")
        r = [bi - ai for bi, ai in zip(b_list, apply_A(x))]
    b_norm = float(inner(b_list, b_list).sqrt())
    rr = inner(r, r)
    history = [float(rr.sqrt())]
    p = [t.clone() for t in r]
    for _ in range(num_iter):
        if history[-1] <= tol * b_norm or history[-1] == 0.0:
            break
        Ap = list(apply_A(p))
        pAp = inner(p, Ap)
        if not torch.isfinite(pAp) or float(pAp) <= 0.0:
            break  # operator not positive definite along p (or numerical breakdown)
        alpha = rr / pAp
        x = _axpy(alpha, p, x)
        r = _axpy(-alpha, Ap, r)
        rr_new = inner(r, r)
        history.append(float(rr_new.sqrt()))
        p = _axpy(rr_new / rr, p, r)
        rr = rr_new
    return CGResult(x[0] if single else x, history)


@dataclass
class GNResult:
    """Optimised variables (detached) and the loss ``||r||^2`` before each step and at the end."""

    x: Variables
    losses: list[float] = field(default_factory=list)


def _flat_residual(res: Variables) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in _as_list(res, "residual")])


#: ``x -> (||r(x)||^2, -J^T r, p -> J^T J p)``: a problem's Gauss-Newton linearisation at ``x``, written out
Linearization = Callable[[list[torch.Tensor]], tuple[float, list[torch.Tensor], Callable[[list[torch.Tensor]], list[torch.Tensor]]]]


def _autograd_linearization(residual_fn: Callable[[list[torch.Tensor]], Variables]) -> Linearization:
    """The :data:`Linearization` of ``||r(x)||^2`` for a residual function, ``J p`` and ``J^T v`` by autograd
    (``J p`` by the double-backward trick: the gradient in ``u`` of ``(J^T u) . p``). Call it with grad enabled."""

    def linearize(x: list[torch.Tensor]):
        xv = [t.detach().requires_grad_(True) for t in x]
        r = _flat_residual(residual_fn(xv))
        u = torch.zeros_like(r, requires_grad=True)
        jt_u = torch.autograd.grad(r, xv, u, create_graph=True, allow_unused=True)
        jt_u = [g if g is not None else torch.zeros_like(v) for g, v in zip(jt_u, xv)]
        jt_r = torch.autograd.grad(r, xv, r.detach(), retain_graph=True, allow_unused=True)
        rhs = [-(g.detach()) if g is not None else torch.zeros_like(v) for g, v in zip(jt_r, xv)]
        graph_u = [g for g in jt_u if g.requires_grad]

        def normal_op(p: list[torch.Tensor]) -> list[torch.Tensor]:
            if not graph_u:
                return [torch.zeros_like(pi) for pi in p]
            pairs = [(g, pi) for g, pi in zip(jt_u, p) if g.requires_grad]
            (jp,) = torch.autograd.grad([g for g, _ in pairs], u, [pi for _, pi in pairs], retain_graph=True)
            jtjp = torch.autograd.grad(r, xv, jp, retain_graph=True, allow_unused=True)
            return [g.detach() if g is not None else torch.zeros_like(pi) for g, pi in zip(jtjp, p)]

        return float((r.detach() ** 2).sum()), rhs, normal_op

    return linearize


def gauss_newton(
    residual_fn: Callable[[list[torch.Tensor]], Variables] | None,
    x0: Variables,
    num_gn_iter: int = 5,
    num_cg_iter: int = 10,
    damping: float = 0.0,
    linearize: Linearization | None = None,
) -> GNResult:
    """Minimise ``||r(x)||^2`` by Gauss-Newton with inner CG on ``(J^T J + damping I) p = -J^T r``.

    ``residual_fn`` takes a list of tensors (the variables) and returns a tensor or a list of
    tensors (flattened and concatenated into one residual vector); ``J p`` and ``J^T v`` then come
    from autograd. Runs with grad enabled and outside inference mode whatever the caller's mode
    (tensors that ``residual_fn`` closes over must then be ordinary tensors, not inference tensors:
    ``clone()`` them outside inference mode). ``linearize`` instead (``residual_fn`` ignored): the
    problem's own loss, right-hand side ``-J^T r`` and normal operator ``J^T J`` at the current
    variables (see :data:`Linearization`), no autograd. Returns detached tensors of the input structure.
    """
    if num_gn_iter < 0 or num_cg_iter < 0:
        raise ValueError(f"num_gn_iter and num_cg_iter must be >= 0, got {num_gn_iter}, {num_cg_iter}")
    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if linearize is None:
        if residual_fn is None:
            raise ValueError("gauss_newton needs residual_fn or linearize")
        linearize = _autograd_linearization(residual_fn)
    single = isinstance(x0, torch.Tensor)
    losses: list[float] = []
    with torch.inference_mode(False), torch.enable_grad():
        x = [t.detach().clone() for t in _as_list(x0, "x0")]
        for _ in range(num_gn_iter):
            loss, rhs, normal_op = linearize(x)
            losses.append(float(loss))

            def damped(p: list[torch.Tensor], normal_op=normal_op) -> list[torch.Tensor]:
                return [a + damping * pi for a, pi in zip(normal_op(p), p)] if damping else normal_op(p)

            step = conjugate_gradient(damped, rhs, num_iter=num_cg_iter).x
            x = [(xi + si).detach() for xi, si in zip(x, step)]
        losses.append(float(linearize(x)[0]))
    return GNResult(x[0] if single else x, losses)
