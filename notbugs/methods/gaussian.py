"""The Gaussian model of Ilyas et al. 2019, section 4, computed exactly where it can be and numerically where not.

Data: y uniform on {-1, +1}, x ~ N(y mu*, Sigma*). Seen through z = y x ~ N(mu*, Sigma*),
classification by maximum likelihood is fitting a Gaussian to z. The loss of a
parameter (mu, Sigma) on a point is, up to a constant,

    loss(z; mu, Sigma) = (z - mu)^T Sigma^-1 (z - mu) + log det Sigma

(twice the negative log-likelihood; the paper's Theorem 1 uses this scale).
Two adversaries move z by delta:
- ``lagrangian``: max_delta loss(z + delta) - C ||delta||^2, solved in closed form,
  delta = (C Sigma - I)^-1 (z - mu) when C > 1 / lambda_min(Sigma);
- ``ball``: max_{||delta||_2 <= eps} loss(z + delta), a trust-region problem solved
  per example in Sigma's eigenbasis by bisection on its multiplier.
Everything is float64; nothing here knows about images or models.
"""

from __future__ import annotations

import math

import torch

DTYPE = torch.float64


def sample(mu: torch.Tensor, sigma: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """n draws of z ~ N(mu, sigma)."""
    chol = torch.linalg.cholesky(sigma)
    return mu + torch.randn(n, len(mu), generator=generator, dtype=DTYPE) @ chol.T


def loss(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-example (z - mu)^T Sigma^-1 (z - mu) + log det Sigma."""
    v = z - mu
    return (v * torch.linalg.solve(sigma, v.T).T).sum(1) + torch.logdet(sigma)


def lagrangian_delta(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor, c: float) -> torch.Tensor:
    """argmax_delta loss(z + delta) - c ||delta||^2 (closed form; needs c > 1 / lambda_min(Sigma))."""
    eye = torch.eye(len(mu), dtype=DTYPE)
    if c * torch.linalg.eigvalsh(sigma).min() <= 1:
        raise ValueError("the penalised adversary is unbounded unless C > 1 / lambda_min(Sigma)")
    return torch.linalg.solve(c * sigma - eye, (z - mu).T).T


def ball_delta(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor, eps: float, iters: int = 30) -> torch.Tensor:
    """argmax_{||delta|| <= eps} loss(z + delta): delta_i = p_i a_i / (eta - p_i) in Sigma^-1's eigenbasis
    (eigenvalues p, coordinates a of z - mu), with eta > max p such that ||delta|| = eps. eta solves the
    trust-region secular equation phi(eta) = 1/||delta(eta)|| - 1/eps = 0 by Newton's method from its left,
    where phi is concave and increasing, so the iterates rise monotonically to the root (More & Sorensen)."""
    p, vecs = torch.linalg.eigh(torch.linalg.inv(sigma))
    pa2 = ((z - mu) @ vecs * p) ** 2
    top = p.max()
    # left of the root: the top component alone is longer than eps there
    eta = top + 0.5 * pa2[:, -1].sqrt().clamp_min(1e-300) / eps
    for _ in range(iters):
        gap = eta[:, None] - p
        psi = (pa2 / gap ** 2).sum(1)
        phi = psi.rsqrt() - 1 / eps
        dphi = psi.pow(-1.5) * (pa2 / gap ** 3).sum(1)
        eta = eta - phi / dphi
    return ((pa2.sqrt() * torch.sign((z - mu) @ vecs)) / (eta[:, None] - p)) @ vecs.T


def adversarial_increase_mc(mu, sigma, c: float, n: int, generator: torch.Generator) -> float:
    """Theorem 1's L_adv - L for the standard MLE (mu, Sigma) = (mu*, Sigma*), by Monte Carlo, the
    adversary found numerically: gradient ascent on the penalised objective, not the closed form."""
    z = sample(mu, sigma, n, generator)
    delta = torch.zeros_like(z, requires_grad=True)
    opt = torch.optim.LBFGS([delta], max_iter=200, tolerance_grad=1e-12, line_search_fn="strong_wolfe")

    def objective():
        opt.zero_grad()
        value = -(loss(z + delta, mu, sigma) - c * (delta ** 2).sum(1)).sum()
        value.backward()
        return value

    opt.step(objective)
    return (loss(z + delta.detach(), mu, sigma) - loss(z, mu, sigma)).mean().item()


def adversarial_increase_formula(sigma: torch.Tensor, c: float) -> float:
    """Theorem 1: tr[(I + (C Sigma - I)^-1)^2] - d."""
    d = len(sigma)
    a = torch.eye(d, dtype=DTYPE) + torch.linalg.inv(c * sigma - torch.eye(d, dtype=DTYPE))
    return (torch.trace(a @ a) - d).item()


def fit_mle(z: torch.Tensor, *, adversary: str = "none", eps: float = 0.0, c: float = 0.0, steps: int = 150,
            lr: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, Sigma) minimising the mean loss on z under an adversary ("none": the standard MLE; "ball": the
    L2 ball of radius eps; "lagrangian": penalty c), by gradient descent (Adam, cosine-decayed) on mu and
    a Cholesky factor of Sigma. The adversary's best response is recomputed every step and held fixed
    for the gradient: by Danskin's theorem that is the gradient of the inner max."""
    if adversary not in ("none", "ball", "lagrangian"):
        raise ValueError(f"unknown adversary '{adversary}'")
    d = z.shape[1]
    eye = torch.eye(d, dtype=DTYPE)
    mu = z.mean(0).clone().requires_grad_(True)
    start = torch.cov(z.T, correction=0) + (eps ** 2 + (2 / c if c else 0)) * eye  # robust covariances are larger
    raw = torch.linalg.cholesky(start).clone().requires_grad_(True)
    opt = torch.optim.Adam([mu, raw], lr=lr)
    for i in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * i / steps))
        low = torch.tril(raw)
        sigma = low @ low.T + 1e-9 * eye
        with torch.no_grad():
            delta = (ball_delta(z, mu, sigma, eps) if adversary == "ball" else
                     lagrangian_delta(z, mu, sigma, c) if adversary == "lagrangian" else torch.zeros_like(z))
        objective = loss(z + delta, mu, sigma) - c * (delta ** 2).sum(1)
        opt.zero_grad()
        objective.mean().backward()
        opt.step()
    low = torch.tril(raw.detach())
    return mu.detach(), low @ low.T


def robust_sigma_formula(sigma_star: torch.Tensor, lam: float) -> torch.Tensor:
    """Theorem 2: Sigma_r = Sigma*/2 + I/lambda + sqrt(Sigma*/lambda + Sigma*^2/4) (matrix square root)."""
    s, vecs = torch.linalg.eigh(sigma_star)
    r = s / 2 + 1 / lam + torch.sqrt(s / lam + s ** 2 / 4)
    return vecs @ torch.diag(r) @ vecs.T


def fit_lambda(sigma_r: torch.Tensor, sigma_star: torch.Tensor) -> tuple[float, float]:
    """The single lambda for which Theorem 2's formula is closest to Sigma_r; (lambda, relative Frobenius error)."""
    def err(log_lam: float) -> float:
        return (torch.linalg.norm(sigma_r - robust_sigma_formula(sigma_star, math.exp(log_lam)))
                / torch.linalg.norm(sigma_r)).item()

    lo, hi = -12.0, 12.0  # golden-section search on log lambda (the error is unimodal in it)
    g = (math.sqrt(5) - 1) / 2
    for _ in range(200):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if err(a) < err(b):
            hi = b
        else:
            lo = a
    best = (lo + hi) / 2
    return math.exp(best), err(best)


def worst_cosine(sigma: torch.Tensor) -> float:
    """min over mu of cos(mu, Sigma^-1 mu): how far the gradient of the linear ML classifier
    (x -> mu^T Sigma^-1 x) can point from the direction that separates the classes. Found numerically
    (projected gradient descent on the unit sphere from several starts)."""
    inv = torch.linalg.inv(sigma)
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(64, len(sigma), generator=gen, dtype=DTYPE)
    u = (u / u.norm(dim=1, keepdim=True)).requires_grad_(True)
    opt = torch.optim.Adam([u], lr=0.05)
    for _ in range(600):
        w = u / u.norm(dim=1, keepdim=True)
        g = w @ inv
        cos = (w * g).sum(1) / g.norm(dim=1)
        opt.zero_grad()
        cos.sum().backward()
        opt.step()
    with torch.no_grad():
        w = u / u.norm(dim=1, keepdim=True)
        g = w @ inv
        return ((w * g).sum(1) / g.norm(dim=1)).min().item()


def kantorovich_cosine(sigma: torch.Tensor) -> float:
    """The closed form of ``worst_cosine``: 2 sqrt(k) / (1 + k), k the condition number of Sigma."""
    e = torch.linalg.eigvalsh(sigma)
    k = (e.max() / e.min()).item()
    return 2 * math.sqrt(k) / (1 + k)
