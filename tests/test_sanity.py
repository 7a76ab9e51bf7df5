"""The sanity checks pass on a sound evaluation and flag a masked one."""

from torch import nn

from notbugs.evaluation.sanity import noise_margin, sanity_checks


class ZeroGradient(nn.Module):
    """Gradient masking in its plainest form: the input reaches the model through a detach."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x.detach() + 0 * x)


def test_sound_evaluation_passes(digits_mlp, digits):
    x, y = digits.test_x[:150], digits.test_y[:150]
    report = sanity_checks(digits_mlp, x, y, norm="l2", eps=0.5, steps=10)
    assert report["flags"] == [], report["checks"]
    assert {c["check"] for c in report["checks"]} == {"fgsm_not_stronger", "more_steps", "restarts", "unbounded",
                                                       "gradients", "black_box"}


def test_masked_gradients_are_flagged(digits_mlp, digits):
    x, y = digits.test_x[:150], digits.test_y[:150]
    report = sanity_checks(ZeroGradient(digits_mlp), x, y, norm="l2", eps=0.5, steps=10)
    assert "gradients" in report["flags"] and "unbounded" in report["flags"]
    # the masked model looks as robust as it is accurate: exactly what the flags warn about
    assert report["robust_accuracy"] > 0.5


def test_transfer_check_uses_the_surrogate(digits_mlp, digits):
    x, y = digits.test_x[:100], digits.test_y[:100]
    report = sanity_checks(ZeroGradient(digits_mlp), x, y, norm="l2", eps=1.0, steps=10, surrogate=digits_mlp)
    transfer = next(c for c in report["checks"] if c["check"] == "transfer")
    assert not transfer["passed"]  # the unmasked twin's examples beat the masked white-box attack


def test_noise_margin():
    assert noise_margin(0.5, 100) == 0.1 and noise_margin(0.0, 100) == 0.01
