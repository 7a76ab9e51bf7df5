"""The responses' measurements against answers known in closed form."""

import math

import pytest
import torch
from torch import nn

from notbugs.core.errors import NotbugsError
from notbugs.experiments import leakage, linear_features, style, transfer
from notbugs.methods import spectral
from notbugs.methods.corruptions import SEVERITIES, corrupt


@pytest.mark.parametrize("u,v", [(0, 0), (1, 0), (0, 3), (2, -5), (-14, 7), (-14, -14), (13, 13)])
def test_fourier_basis_has_unit_norm_and_one_frequency(u, v):
    b = spectral.basis(28, 28, u, v)
    assert b.norm().item() == pytest.approx(1.0, abs=1e-5)
    power = torch.fft.fft2(b.double()).abs() ** 2
    fu, fv = spectral.frequencies(28, 28)
    at = ((fu == u) & (fv == v)) | ((fu == (-u + 14) % 28 - 14) & (fv == (-v + 14) % 28 - 14))
    assert power[at].sum() / power.sum() == pytest.approx(1.0, abs=1e-9)


def test_half_plane_covers_every_frequency_once_up_to_conjugation():
    pairs = spectral.half_plane(28, 28)
    covered = {((u % 28), (v % 28)) for u, v in pairs} | {((-u) % 28, (-v) % 28) for u, v in pairs}
    assert len(covered) == 28 * 28 and len(pairs) == (28 * 28 + 4) // 2


def test_filters_split_the_spectrum():
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    low = spectral.filtered(x, 4, "low")
    assert low.min() >= 0 and low.max() <= 1
    assert spectral.high_frequency_share(spectral.filtered(x, 4, "low"), 6) < 1e-3
    smooth = spectral.basis(28, 28, 1, 1).view(1, 1, 28, 28) + 0.5
    sharp = spectral.basis(28, 28, 12, 3).view(1, 1, 28, 28) + 0.5
    assert spectral.high_frequency_share(smooth, 10) == pytest.approx(0, abs=1e-9)
    assert spectral.high_frequency_share(sharp, 10) == pytest.approx(1, abs=1e-9)


@pytest.mark.parametrize("name", list(SEVERITIES))
def test_corruptions_stay_in_range_and_grow_with_severity(name):
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 0.6 + 0.2
    dist = []
    for sev in range(1, 6):
        out = corrupt(x, name, sev, torch.Generator().manual_seed(2))
        assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
        assert torch.equal(out, corrupt(x, name, sev, torch.Generator().manual_seed(2)))  # reproducible
        dist.append((out - x).norm().item())
    assert dist == sorted(dist) and dist[0] > 0
    with pytest.raises(ValueError):
        corrupt(x, name, 6, torch.Generator())


class _Identity(nn.Module):
    """features = the image itself, through one ReLU stage (the input is >= 0, so the ReLU is the identity)."""

    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(x.flatten(1))


class _Constant(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.relu(torch.ones(len(x), 5) + 0 * self.w + 0 * x.flatten(1)[:, :1])


def test_layer_robustness_known_answers():
    gen = torch.Generator().manual_seed(0)
    x = 0.3 + 0.4 * torch.rand(40, 1, 6, 6, generator=gen)  # interior: the eps-ball never meets the [0, 1] box
    eps = 0.1

    def layer_robustness(model, steps, generator):
        return [style.robustness_of(m) for m in style.feature_moves(model, x, eps=eps, steps=steps,
                                                                    generator=generator)]

    r_identity = layer_robustness(_Identity(), 10, torch.Generator().manual_seed(1))
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))
    spread = (x.flatten(1) - x[perm].flatten(1)).norm(dim=1).mean().item()
    assert r_identity[0] == pytest.approx(eps / spread, rel=1e-4)
    assert layer_robustness(_Constant(), 5, gen) == [0.0]


def test_linear_feature_closed_forms_on_a_synthetic_gaussian():
    """x = y m + N(0, D) with D diagonal and m on one axis: Sigma = D + m m^T is diagonal, the singular directions
    are the axes, the robustness of axis i is sqrt(D_i + m_i^2) and its usefulness |m_i| / sqrt(D_i + m_i^2)."""
    gen = torch.Generator().manual_seed(0)
    n, d = 200_000, 5
    var = torch.tensor([4.0, 2.0, 1.0, 0.25, 0.0625])  # eigenvalues well apart, so the sample eigenvectors are the axes
    m = torch.tensor([0.0, 0.0, 0.0, 0.6, 0.0])
    y = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    x = y[:, None] * m + torch.randn(n, d, generator=gen) * var.sqrt()
    res = linear_features.directions(x, y)
    sigma = (var + m ** 2).sqrt()
    order = sigma.argsort(descending=True)
    assert torch.allclose(res["robustness"].float(), sigma[order], rtol=0.01)
    assert torch.allclose(res["usefulness"].float(), (m.abs() / sigma)[order], atol=0.01)
    assert torch.allclose(res["a"].abs().float(), torch.eye(d)[order], atol=0.02)


@pytest.mark.slow
def test_useful_share_interval_covers_the_closed_form():
    """The mixture a e_3 + b e_0 on x = y m + N(0, D): usefulness a m_3 / sqrt(a^2 (D_3 + m_3^2) + b^2 D_0), over
    e_3's m_3 / sqrt(D_3 + m_3^2). Over 40 samples of 1,000 test images the 95 % bootstrap interval covers it
    about 38 times; with 16x the images it is about a quarter as wide."""
    var = torch.tensor([4.0, 2.0, 1.0, 0.25, 0.0625], dtype=torch.float64)
    m = torch.tensor([0.0, 0.0, 0.0, 0.6, 0.0], dtype=torch.float64)
    a, b = 0.3, 0.7
    w_ref = torch.tensor([0.0, 0.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    w = a * w_ref + b * torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    truth = ((a * m[3] / (a * a * (var[3] + m[3] ** 2) + b * b * var[0]).sqrt())
             / (m[3] / (var[3] + m[3] ** 2).sqrt())).item()

    def share(n, seed):
        gen = torch.Generator().manual_seed(seed)
        y = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0).double()
        x = y[:, None] * m + torch.randn(n, 5, generator=gen, dtype=torch.float64) * var.sqrt()
        return linear_features.useful_share(w, w_ref, x, y, torch.zeros(5, dtype=torch.float64))

    shares = [share(1_000, seed) for seed in range(40)]
    assert all(s.ci[0] <= s <= s.ci[1] for s in shares)
    assert sum(s.ci[0] <= truth <= s.ci[1] for s in shares) >= 34
    wide = sum(s.ci[1] - s.ci[0] for s in shares) / len(shares)
    big = share(16_000, 99)
    assert big.ci[1] - big.ci[0] < wide / 3


def test_linear_accuracy_under_attack_is_exact():
    w = torch.tensor([1.0, 0.0], dtype=torch.float64)
    x = torch.tensor([[0.3, 5.0], [-0.2, 1.0], [2.0, 0.0]])
    y = torch.tensor([1.0, -1.0, 1.0])
    zero = torch.zeros(2, dtype=torch.float64)
    assert linear_features.accuracy(w, x, y, zero) == 1.0
    assert linear_features.accuracy(w, x, y, zero, eps=0.25) == pytest.approx(2 / 3)  # margins 0.3, 0.2, 2
    assert linear_features.accuracy(w, x, y, zero, eps=0.5) == pytest.approx(1 / 3)


def test_robust_linear_map_and_certificate():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    w, b = leakage.linear_map(model, (1, 3, 4))
    x = torch.rand(50, 1, 3, 4)
    assert torch.allclose(x.flatten(1) @ w.T + b, model(x), atol=1e-5)
    y = model(x).argmax(1)
    # an example is certified at eps exactly when the nearest boundary is at least eps away
    z = model(x).detach()
    gaps = []
    for i in range(len(x)):
        others = [((z[i, y[i]] - z[i, j]) / (w[y[i]] - w[j]).norm()).item() for j in range(3) if j != y[i]]
        gaps.append(min(others))
    for eps in (0.0, 0.05, 0.2):
        assert leakage.certified_accuracy(w, b, x, y, eps) == pytest.approx(sum(g >= eps for g in gaps) / len(x))


def test_spearman_matches_known_values():
    assert transfer.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1)
    assert transfer.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1)
    assert transfer.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    assert math.isclose(transfer.spearman([1, 1, 2], [1, 2, 3]), 0.8660254, rel_tol=1e-6)


def test_missing_style_image_is_refused():
    with pytest.raises(NotbugsError, match="no sample image 'nope.jpg'"):
        style.sample_photo("nope.jpg", 16, 1)


def test_heat_map_per_image_means_are_the_heat_map_and_give_an_interval(digits_mlp, digits):
    from notbugs.evaluation.evaluate import accuracy
    from notbugs.experiments.fourier import band_means, band_radius, heat_map, paired_difference

    x, y = digits.test_x[:40], digits.test_y[:40]
    per_image = heat_map(digits_mlp, x, y, 2.0, torch.Generator().manual_seed(0))
    assert per_image.shape == (40, 8, 8)
    grid = per_image.mean(0)
    # one frequency by hand: the same signs, the aggregate error increase
    gen = torch.Generator().manual_seed(0)
    sign = torch.where(torch.rand(len(x), generator=gen) < 0.5, -1.0, 1.0).view(-1, 1, 1, 1)
    u, v = next(iter(spectral.half_plane(8, 8)))
    err = 1 - accuracy(digits_mlp, (x + 2.0 * sign * spectral.basis(8, 8, u, v)).clamp(0, 1), y)
    assert grid[(u + 4) % 8, (v + 4) % 8] == pytest.approx(err - (1 - accuracy(digits_mlp, x, y)))
    high = per_image[:, band_radius(8, 8) >= 3].mean(1)
    assert band_means(grid, 1, 3)["high"] == pytest.approx(high.mean())
    diff = paired_difference(list(high), list(high * 0.5))
    assert diff == pytest.approx(0.5 * high.mean()) and diff.ci[0] <= diff <= diff.ci[1]


def test_robust_over_standard_ratios_and_their_intervals():
    """The point estimates are the ratios of R(f) stage by stage; the intervals over images hold them, and a
    model whose moves are a third of the other's at every image gives exactly a third."""
    gen = torch.Generator().manual_seed(0)

    def moves(scale, n=300):
        return [{"moved": (scale * (1 + torch.rand(n, generator=gen))).tolist(),
                 "spread": (5 + torch.rand(n, generator=gen)).tolist()} for _ in range(2)]

    standard, robust = moves(1.0), moves(0.4)
    largest, last = style.robust_over_standard(robust, standard)
    per_stage = [style.robustness_of(r) / style.robustness_of(q) for r, q in zip(robust, standard)]
    assert largest == pytest.approx(max(per_stage)) and last == pytest.approx(per_stage[-1])
    assert largest.ci[0] <= largest <= largest.ci[1] and 0 < last.ci[1] - last.ci[0] < 0.1
    third = [{"moved": [v / 3 for v in m["moved"]], "spread": m["spread"]} for m in standard]
    assert style.robust_over_standard(third, standard)[1].ci == pytest.approx((1 / 3, 1 / 3))
    smoother, excess = style.smoother_and_artefacts({"standard": [0.2, 0.4, 0.3], "robust": [0.1, 0.2, 0.15],
                                                     "content": [0.1, 0.1, 0.1]})
    assert smoother == pytest.approx(2.0) and smoother.ci == pytest.approx((2.0, 2.0))
    assert excess == pytest.approx(0.2) and excess.ci[0] >= 0.1 - 1e-9 and excess.ci[1] <= 0.3 + 1e-9
