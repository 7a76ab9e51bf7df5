"""The Gaussian model's numerics against answers known in closed form."""

import math

import pytest
import torch

from notbugs.experiments.theory import covariance
from notbugs.methods import gaussian as g

D = 4


@pytest.fixture()
def setup():
    gen = torch.Generator().manual_seed(0)
    mu = torch.ones(D, dtype=g.DTYPE) / 2
    sigma = covariance(D, 6.0, rotate=1)
    return gen, mu, sigma, g.sample(mu, sigma, 4000, gen)


def test_ball_adversary_is_the_maximiser_on_the_sphere(setup):
    gen, mu, sigma, z = setup
    delta = g.ball_delta(z, mu, sigma, 0.7)
    assert torch.allclose(delta.norm(dim=1), torch.full((len(z),), 0.7, dtype=g.DTYPE), atol=1e-9)
    best = g.loss(z + delta, mu, sigma)
    for _ in range(20):  # no random point of the ball, and no nearby point of the sphere, does better
        r = torch.randn(z.shape, generator=gen, dtype=g.DTYPE)
        assert (g.loss(z + 0.7 * r / r.norm(dim=1, keepdim=True), mu, sigma) <= best + 1e-9).all()
        near = delta + 0.02 * torch.randn(z.shape, generator=gen, dtype=g.DTYPE)
        assert (g.loss(z + 0.7 * near / near.norm(dim=1, keepdim=True), mu, sigma) <= best + 1e-9).all()


def test_ball_adversary_matches_a_brute_force_search_in_two_dimensions():
    sigma = torch.tensor([[2.0, 0.3], [0.3, 0.5]], dtype=g.DTYPE)
    mu = torch.zeros(2, dtype=g.DTYPE)
    z = torch.tensor([[0.4, -0.2], [1.0, 1.0], [-0.3, 0.05]], dtype=g.DTYPE)
    angles = torch.linspace(0, 2 * math.pi, 200_001, dtype=g.DTYPE)
    circle = 0.3 * torch.stack([angles.cos(), angles.sin()], 1)
    for point in z:
        brute = g.loss(point + circle, mu, sigma).max()
        ours = g.loss(point[None] + g.ball_delta(point[None], mu, sigma, 0.3), mu, sigma)[0]
        assert ours == pytest.approx(brute.item(), rel=1e-7)


def test_numerical_adversary_agrees_with_the_closed_form(setup):
    gen, mu, sigma, _ = setup
    c = 3 / torch.linalg.eigvalsh(sigma).min().item()
    mc = g.adversarial_increase_mc(mu, sigma, c, 200_000, gen)
    assert mc == pytest.approx(g.adversarial_increase_formula(sigma, c), rel=0.02)


def test_standard_fit_is_the_sample_mean_and_covariance(setup):
    _, _, _, z = setup
    mu, sigma = g.fit_mle(z, steps=300)
    assert torch.allclose(mu, z.mean(0), atol=1e-4)
    assert torch.allclose(sigma, torch.cov(z.T, correction=0), atol=2e-3)


def test_penalised_robust_fit_is_theorem_2_with_lambda_equal_to_the_penalty(setup):
    """With the Lagrangian adversary the fixed point is exactly the formula at lambda = C: a known answer."""
    _, _, _, z = setup
    c = 4.0
    mu, sigma_r = g.fit_mle(z, adversary="lagrangian", c=c, steps=400)
    expected = g.robust_sigma_formula(torch.cov(z.T, correction=0), c)
    assert torch.linalg.norm(sigma_r - expected) / torch.linalg.norm(expected) < 2e-3
    lam, err = g.fit_lambda(sigma_r, torch.cov(z.T, correction=0))
    assert lam == pytest.approx(c, rel=0.02) and err < 2e-3
    assert torch.allclose(mu, z.mean(0), atol=1e-3)


def test_worst_cosine_is_kantorovich():
    for kappa in (1.0, 3.0, 30.0):
        sigma = covariance(D, kappa, rotate=2)
        assert g.worst_cosine(sigma) == pytest.approx(g.kantorovich_cosine(sigma), abs=1e-4)
