"""notbugs: a lab for the robust / non-robust features view of adversarial examples.

Conventions (see README): images are float tensors in [0, 1], NCHW; eps is in
that pixel space; normalisation lives inside the model; every model has
``features(x)`` and ``forward(x) = head(features(x))``.
"""

__version__ = "0.1.0"
