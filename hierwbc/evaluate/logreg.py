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
  the logits of every fold come from one [n, D] x [D, F K] product on the raw features, and
  the gradient (written out, numpy) from one [D, n] x [n, F K] product.
- A class absent from a fold's training part gets logit -inf in that fold (as sklearn, which
  never sees it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import solve_triangular

from ._blas import single_threaded_blas


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


def lbfgs(loss_grad, x0: np.ndarray, max_iter: int = 500, tol: float = 1e-4, history_size: int = 10,
          max_halvings: int = 30) -> tuple[np.ndarray, int, bool]:
    """Minimise a smooth convex function with L-BFGS (Nocedal & Wright, Alg. 7.4 and 7.5).

    ``loss_grad(x) -> (f, grad, residual)`` on float64 vectors; ``residual`` is the stopping
    measure (e.g. the largest gradient entry in the coordinates the caller cares about). Steps
    start at 1 (the first one scaled to a unit step) and are halved until the Armijo condition
    holds; on a strictly convex function every pair (s, y) has s.y > 0, so the two-loop
    recursion stays positive definite. Stops when ``residual <= tol`` (converged) or no step
    decreases f any more (the function's floating-point floor; also converged). Returns
    (x, evaluations, converged).
    """
    x = np.asarray(x0, dtype=np.float64).copy()
    f, g, res = loss_grad(x)
    n_evals, ss, ys = 1, [], []
    for _ in range(max_iter):
        if res <= tol:
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
            f_new, g_new, res_new = loss_grad(x + t * d)
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
        x, f, g, res = x + s_, f_new, g_new, res_new
    return x, n_evals, bool(res <= tol)


def _inverse_cholesky_t(cov: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """P_f = L_f^-T with L_f L_f^T = cov_f + r_f I, r_f = max(lam_f, 1e-6) raised until positive
    definite ([F, D, D]). Only the speed of L-BFGS depends on P (r is not the model's penalty)."""
    eye = np.eye(cov.shape[-1])
    out = np.empty_like(cov)
    with single_threaded_blas():  # D x D factorisations: threads only add waiting
        for f in range(len(cov)):  # a handful of folds
            out[f] = _one_inverse_cholesky_t(cov[f], float(lam[f]), eye)
    return out


def _one_inverse_cholesky_t(cov: np.ndarray, lam: float, eye: np.ndarray) -> np.ndarray:
    ridge = max(lam, 1e-6)
    for _ in range(8):
        try:
            chol = np.linalg.cholesky(cov + ridge * eye)
            break
        except np.linalg.LinAlgError:
            ridge *= 10
    else:
        raise RuntimeError("could not factor the feature correlation matrix (non-finite features?)")
    return solve_triangular(chol, eye, lower=True).T


def _fold_statistics(xc: np.ndarray, blocks: np.ndarray, nf: int, C: float):
    """Per-fold training mean [F, D], std [F, D], count [F] and preconditioner [F, D, D] from
    per-block sums (block b = the test samples of fold b, block F = train-only samples; the
    training part of fold f = every block but f): float64 moments define the model, a Gram
    matrix in the features' precision only the preconditioner."""
    onehot = np.eye(nf + 1)[blocks]  # [n, F+1]
    x64 = xc.astype(np.float64)
    with single_threaded_blas():  # [F+1, n] @ [n, D]: see _blas
        s1, s2, cnt = onehot.T @ x64, onehot.T @ (x64 * x64), onehot.sum(0)
    gram = np.stack([xc[blocks == b].T @ xc[blocks == b] for b in range(nf + 1)]).astype(np.float64)
    tr = 1.0 - np.eye(nf + 1)[:nf]  # [F, F+1]: the blocks in fold f's training part
    n_tr = tr @ cnt
    mean = (tr @ s1) / n_tr[:, None]
    var = (tr @ s2) / n_tr[:, None] - mean ** 2
    sd = np.where(var > 1e-12 * (1 + mean ** 2), np.sqrt(np.maximum(var, 0)), 1.0)
    cov = np.einsum("fb,bde->fde", tr, gram) / n_tr[:, None, None] - mean[:, :, None] * mean[:, None, :]
    cov /= sd[:, :, None] * sd[:, None, :]
    return mean, sd, n_tr, _inverse_cholesky_t(cov, 1.0 / (C * n_tr))


def fit_predict_logreg(X, y, fold, C: float | None = None, max_iter: int = 500, tol: float = 1e-4,
                       history_size: int = 10, dtype=torch.float32) -> LogregOutput:
    """Fit one logistic regression per test fold and predict its test samples.

    ``X`` [n, D] raw features, ``y`` [n] node indices, ``fold`` [n] test-fold ids (-1: train
    only). Fold f trains on ``fold != f`` and predicts ``fold == f``. ``tol``: largest absolute
    entry of the gradient with respect to the weights on the standardised features and the
    intercepts at which L-BFGS stops (sklearn's criterion and default); ``max_iter``: its
    iteration limit (a warning says when it is reached). ``dtype`` (float32 / float64, numpy
    or torch): precision of the loss and gradient (the optimiser state is float64).
    """
    dt = np.float64 if dtype in (torch.float64, np.float64) else np.float32
    y = np.asarray(y, dtype=np.int64)
    fold = np.asarray(fold, dtype=np.int64)
    x = np.asarray(X, dtype=dt)
    n, d = x.shape
    classes, ycls = np.unique(y, return_inverse=True)
    k = len(classes)
    folds = np.unique(fold[fold >= 0])
    nf = len(folds)
    if nf == 0:
        raise ValueError("no test fold: every fold id is -1")
    C = default_C(d, k) if C is None else float(C)
    xc = (x - x.mean(0, dtype=np.float64)).astype(dt)  # centred once: better float32 sums
    blocks = np.full(n, nf)
    blocks[fold >= 0] = np.searchsorted(folds, fold[fold >= 0])
    mean, sd, n_tr, prec = _fold_statistics(xc, blocks, nf, C)
    mu, sd, prec = mean.astype(dt), sd.astype(dt), prec.astype(dt)
    lam = (1.0 / (C * n_tr)).astype(dt)
    train = fold[None, :] != folds[:, None]  # [F, n]
    present = np.stack([np.bincount(ycls[t], minlength=k) > 0 for t in train])  # [F, K] classes in f's training part
    mask = np.where(present, 0.0, -1e4).astype(dt)
    w_rows = (train / n_tr[:, None]).T.astype(dt)  # [n, F]: 1/n_f on fold f's training rows
    rows = np.arange(n)
    n_v = nf * d * k

    def logits(theta: np.ndarray):
        wstd = prec @ theta[:n_v].reshape(nf, d, k).astype(dt)  # [F, D, K] on standardised features
        w = wstd / sd[:, :, None]  # on the centred raw features
        bias = theta[n_v:].reshape(nf, k).astype(dt) - np.einsum("fd,fdk->fk", mu, w) + mask
        z = (xc @ w.transpose(1, 0, 2).reshape(d, nf * k)).reshape(n, nf, k) + bias
        return z, wstd

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray, float]:
        z, wstd = logits(theta)
        z -= z.max(-1, keepdims=True)
        e = np.exp(z)
        tot = e.sum(-1)
        ce = np.log(tot) - z[rows, :, ycls]  # [n, F]
        loss = float((ce * w_rows).sum(dtype=np.float64)
                     + 0.5 * (lam * (wstd * wstd).sum((1, 2), dtype=np.float64)).sum())
        g = e / tot[..., None]
        g[rows, :, ycls] -= 1
        g *= w_rows[:, :, None]  # d loss / d z  [n, F, K]
        gb = g.sum(0)  # [F, K]
        gw = (xc.T @ g.reshape(n, nf * k)).reshape(d, nf, k).transpose(1, 0, 2) - mu[:, :, None] * gb[:, None, :]
        gwstd = gw / sd[:, :, None] + lam[:, None, None] * wstd
        gv = prec.transpose(0, 2, 1) @ gwstd
        residual = max(float(np.abs(gwstd).max()), float(np.abs(gb).max()))
        return loss, np.concatenate([gv.ravel(), gb.ravel()]).astype(np.float64), residual

    with single_threaded_blas():  # batched [D, D] x [D, K] products stall when threaded (see _blas);
        # the two [n, D] x [D, F K] products per evaluation gain little from a second thread
        x_opt, n_evals, converged = lbfgs(loss_grad, np.zeros(n_v + nf * k), max_iter=max_iter, tol=tol,
                                          history_size=history_size)
        z, _ = logits(x_opt)
    if not converged:
        warnings.warn(f"logistic regression stopped after max_iter={max_iter} iterations without reaching "
                      f"tol={tol}", stacklevel=2)
    z -= z.max(-1, keepdims=True)
    p_all = np.exp(z)
    p_all /= p_all.sum(-1, keepdims=True)
    proba = np.full((n, k), np.nan, dtype=np.float32)
    for f, fid in enumerate(folds):  # a handful of folds
        test = fold == fid
        proba[test] = p_all[test, f]
    return LogregOutput(classes=classes, proba=proba, n_evals=n_evals)
