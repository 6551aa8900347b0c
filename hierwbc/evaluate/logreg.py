"""Multinomial logistic-regression probe, every fold fitted at once with preconditioned L-BFGS.

Model and objective are sklearn's ``LogisticRegression(solver="lbfgs")`` (multinomial, L2,
unpenalised intercept) on features standardised with the training part's mean and standard
deviation (``StandardScaler``): for fold f with n_f training samples,

    min_{W, b}  1/n_f sum_i CE(softmax(z_i W + b), y_i) + ||W||^2 / (2 C n_f),   z = standardised x.

``C`` defaults to DinoBloom's rule (Koch et al. 2024: l2 = 100 / (D K), C = D K / 100, D
features, K classes). The solution is unique, so only speed differs from sklearn:

- Preconditioning: W = P V with P = L^-T, L L^T = S + lam I (S the training correlation
  matrix, lam = 1 / (C n_f)); in V the quadratic part of the objective is isotropic, and L-BFGS
  needs tens of evaluations instead of hundreds on anisotropic embeddings.
- All folds share one L-BFGS run (:func:`lbfgs`) on the sum of their independent objectives:
  the logits of every fold come from one [n, D] x [D, F K] product on the raw features.
- A class absent from a fold's training part gets logit -inf in that fold (as sklearn, which
  never sees it).
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np
import torch
import torch.nn.functional as tnf


@dataclass(frozen=True)
class LogregOutput:
    """Out-of-fold ``proba`` [n, K] (NaN rows for train-only samples), ``classes`` [K] node
    indices, and the number of L-BFGS function evaluations."""

    classes: np.ndarray
    proba: np.ndarray
    n_evals: int


def default_C(n_features: int, n_classes: int) -> float:
    """DinoBloom's inverse regularisation strength: D K / 100."""
    return n_features * n_classes / 100.0


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS: threaded BLAS calls on short vectors stall on a busy machine."""
    return float(np.multiply(a, b).sum())


def lbfgs(loss_grad, x0: np.ndarray, max_iter: int = 500, tol: float = 1e-5, history_size: int = 10,
          max_halvings: int = 30) -> tuple[np.ndarray, int, bool]:
    """Minimise a smooth convex function with L-BFGS (Nocedal & Wright, Alg. 7.4 and 7.5).

    ``loss_grad(x) -> (f, grad)`` on float64 vectors. Steps start at 1 (the first one scaled to
    a unit step) and are halved until the Armijo condition holds; on a strictly convex function
    every pair (s, y) has s.y > 0, so the two-loop recursion stays positive definite. Stops when
    the largest gradient entry is <= ``tol`` (converged) or no step decreases f any more (the
    function's floating-point floor; also converged). Returns (x, evaluations, converged).
    """
    x = np.asarray(x0, dtype=np.float64).copy()
    f, g = loss_grad(x)
    n_evals, ss, ys = 1, [], []
    for it in range(max_iter):
        if np.abs(g).max() <= tol:
            return x, n_evals, True
        q = g.copy()
        alphas = []
        for s_, y_ in zip(reversed(ss), reversed(ys)):  # two-loop recursion over <= history_size pairs
            a = _dot(s_, q) / (_dot(s_, y_))
            alphas.append(a)
            q -= a * y_
        q *= _dot(ss[-1], ys[-1]) / _dot(ys[-1], ys[-1]) if ss else 1.0 / max(np.abs(g).sum(), 1.0)
        for (s_, y_), a in zip(zip(ss, ys), reversed(alphas)):
            q += (a - (_dot(y_, q)) / (_dot(s_, y_))) * s_
        d = -q
        slope = _dot(g, d)
        if slope >= 0:  # not a descent direction (numerical trouble): restart from the gradient
            ss, ys, d, slope = [], [], -g, -_dot(g, g)
        t = 1.0
        for _ in range(max_halvings):
            f_new, g_new = loss_grad(x + t * d)
            n_evals += 1
            if f_new <= f + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            return x, n_evals, True  # no decrease possible at this precision
        s_, y_ = t * d, g_new - g
        if _dot(s_, y_) > 1e-12 * _dot(y_, y_):
            ss.append(s_)
            ys.append(y_)
            if len(ss) > history_size:
                ss.pop(0)
                ys.pop(0)
        x, f, g = x + s_, f_new, g_new
    return x, n_evals, bool(np.abs(g).max() <= tol)


def _inverse_cholesky_t(cov: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """P = L^-T with L L^T = cov + r I, r = max(lam, 1e-6) raised until positive definite.

    Only the speed of L-BFGS depends on P (the ridge r is not the model's penalty)."""
    d = cov.shape[-1]
    eye = torch.eye(d, dtype=cov.dtype)
    ridge = lam.clamp_min(1e-6)[:, None, None]
    for _ in range(8):
        chol, info = torch.linalg.cholesky_ex(cov + ridge * eye)
        if not bool(info.any()):
            break
        ridge = ridge * 10
    else:
        raise RuntimeError("could not factor the feature correlation matrix (non-finite features?)")
    return torch.linalg.solve_triangular(chol, eye.expand_as(cov), upper=False).transpose(1, 2)


def fit_predict_logreg(X, y, fold, C: float | None = None, max_iter: int = 500, tol: float = 1e-5,
                       history_size: int = 10, dtype: torch.dtype = torch.float32) -> LogregOutput:
    """Fit one logistic regression per test fold and predict its test samples.

    ``X`` [n, D] raw features, ``y`` [n] node indices, ``fold`` [n] test-fold ids (-1: train
    only). Fold f trains on ``fold != f`` and predicts ``fold == f``. ``tol``: largest absolute
    gradient entry (preconditioned coordinates) at which L-BFGS stops; ``max_iter``: its
    iteration limit (a warning says when it is reached).
    """
    y = np.asarray(y, dtype=np.int64)
    fold = np.asarray(fold, dtype=np.int64)
    x = torch.as_tensor(np.asarray(X), dtype=dtype)
    n, d = x.shape
    classes, ycls = np.unique(y, return_inverse=True)
    k = len(classes)
    folds = np.unique(fold[fold >= 0])
    nf = len(folds)
    if nf == 0:
        raise ValueError("no test fold: every fold id is -1")
    C = default_C(d, k) if C is None else float(C)

    # Per-fold standardisation from per-block sums (block b = the samples of test fold b; train
    # of fold f = all blocks but f): float64 moments define the model, a float32 Gram matrix
    # only the preconditioner (any positive-definite one gives the same optimum).
    shift = x.mean(0)
    xc = x - shift
    blocks_np = np.full(n, nf)
    blocks_np[fold >= 0] = np.searchsorted(folds, fold[fold >= 0])
    blocks = torch.as_tensor(blocks_np)
    onehot = tnf.one_hot(blocks, nf + 1).to(dtype)  # [n, F+1]; block F = train-only samples
    s1 = (onehot.T.double() @ xc.double())  # [F+1, D]
    s2 = (onehot.T.double() @ (xc.double() ** 2))
    cnt = onehot.sum(0).double()
    gram = torch.stack([xc[blocks == bb].T @ xc[blocks == bb] for bb in range(nf + 1)]).double()
    tr_w = 1.0 - torch.eye(nf + 1, dtype=torch.float64)[:nf]  # [F, F+1]: blocks in fold f's train
    n_tr = tr_w @ cnt
    mean_c = (tr_w @ s1) / n_tr[:, None]
    var = (tr_w @ s2) / n_tr[:, None] - mean_c ** 2
    sd64 = torch.where(var > 1e-12 * (1 + mean_c ** 2), var.clamp_min(0).sqrt(), torch.ones_like(var))
    cov = torch.einsum("fb,bde->fde", tr_w, gram) / n_tr[:, None, None] - mean_c[:, :, None] * mean_c[:, None, :]
    cov = cov / (sd64[:, :, None] * sd64[:, None, :])
    lam64 = 1.0 / (C * n_tr)
    prec = _inverse_cholesky_t(cov, lam64).to(dtype)  # [F, D, D]
    mu = mean_c.to(dtype)  # mean of the centred features xc
    sd = sd64.to(dtype)
    lam_t = lam64.to(dtype)
    train = torch.as_tensor(fold[None, :] != folds[:, None])  # [F, n]
    ytr = torch.as_tensor(ycls)
    present = (train.to(dtype) @ tnf.one_hot(ytr, k).to(dtype)) > 0  # [F, K] classes in fold f's train
    mask = torch.zeros(nf, k, dtype=dtype).masked_fill_(~present, -1e4)
    w_rows = (train.to(dtype) / n_tr.to(dtype)[:, None]).T.reshape(-1)  # [n*F]: 1/n_f on train rows
    y_rows = ytr[:, None].expand(n, nf).reshape(-1)

    n_v = nf * d * k

    def logits(wstd: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # [n, F, K]: all samples, all folds
        w = wstd / sd[:, :, None]  # weights on the (centred) raw features
        bias = b - torch.bmm(mu[:, None, :], w)[:, 0] + mask
        return (xc @ w.permute(1, 0, 2).reshape(d, nf * k)).view(n, nf, k) + bias

    def unpack(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.bmm(prec, theta[:n_v].view(nf, d, k)), theta[n_v:].view(nf, k)

    def loss_grad(theta_np: np.ndarray) -> tuple[float, np.ndarray]:
        theta = torch.tensor(theta_np, dtype=dtype, requires_grad=True)
        wstd, b = unpack(theta)  # wstd [F, D, K]: weights on the standardised features
        ce = tnf.cross_entropy(logits(wstd, b).view(n * nf, k), y_rows, reduction="none")
        loss = (ce * w_rows).sum() + 0.5 * (lam_t * (wstd * wstd).sum((1, 2))).sum()
        loss.backward()
        return float(loss.detach()), theta.grad.double().numpy()

    x_opt, n_evals, converged = lbfgs(loss_grad, np.zeros(n_v + nf * k), max_iter=max_iter, tol=tol,
                                      history_size=history_size)
    if not converged:
        warnings.warn(f"logistic regression stopped after max_iter={max_iter} iterations without reaching "
                      f"tol={tol}", stacklevel=2)
    with torch.no_grad():
        p_all = torch.softmax(logits(*unpack(torch.as_tensor(x_opt, dtype=dtype))), dim=-1)
    proba = np.full((n, k), np.nan, dtype=np.float32)
    for f, fid in enumerate(folds):
        test = fold == fid
        proba[test] = p_all[torch.as_tensor(test), f].numpy()
    return LogregOutput(classes=classes, proba=proba, n_evals=n_evals)
