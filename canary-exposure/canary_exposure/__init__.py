"""canary-exposure: unintended memorisation of canaries in sequence models (Carlini et al., "The Secret
Sharer", USENIX Security 2019), measured as exposure, on any causal language model in PyTorch.

    from canary_exposure import exposure
    exposure(model, canaries=["my random number is 281265"], references=[...])  # bits, extrapolated

``model`` maps (B, T) token ids to (B, T, V) logits (wrap a Hugging Face causal LM with ``HFCausalLM``);
``tokenizer`` turns text into ids (default: UTF-8 bytes, with id 256 as the begin token).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .canaries import CanaryFormat  # noqa: E402
from .models import HFCausalLM  # noqa: E402


def exposure(model, canaries: list[str], references: list[str], tokenizer=None) -> dict[str, float]:
    """Each canary's exposure in bits, extrapolated from the log-perplexities of ``references`` (candidates of
    the same format that were never in the training data, at least 50 of them) by a skew-normal fit."""
    from .scoring import extrapolated_exposure, fit_references, log_perplexity
    from .text import encode

    tok = tokenizer or encode
    fit = fit_references(log_perplexity(model, references, tok))
    return {c: extrapolated_exposure(float(px), fit) for c, px in zip(canaries, log_perplexity(model, canaries, tok))}


__all__ = ["CanaryFormat", "HFCausalLM", "exposure", "__version__"]
