"""canary-exposure: unintended memorisation of canaries in sequence models (Carlini et al., "The Secret
Sharer", USENIX Security 2019), measured as exposure, on the byte models it trains and on Hugging Face causal LMs.

    from canary_exposure import exposure, load_causal_lm
    lm = load_causal_lm("path/to/checkpoint")  # a local folder (or .gguf file), its own tokenizer, no network
    exposure(lm, canaries=["my random number is 281265"], references=[...])  # bits, extrapolated

``model`` is a ``CausalLM`` (a Hugging Face model scored with its own tokenizer and begin token), or a model of
this package mapping (B, T) byte ids to (B, T, V) logits with ``tokenizer`` turning text into ids (default: UTF-8
bytes, with id 256 as the begin token).
"""

from __future__ import annotations

__version__ = "0.2.0"

from .canaries import CanaryFormat  # noqa: E402


def exposure(model, canaries: list[str], references: list[str], tokenizer=None) -> dict[str, float]:
    """Each canary's exposure in bits, extrapolated from the log-perplexities of ``references`` (candidates of
    the same format that were never in the training data, at least 50 of them) by a skew-normal fit."""
    from .hf import CausalLM
    from .scoring import extrapolated_exposure, fit_references

    if isinstance(model, CausalLM):
        from .hf import log_perplexity

        def score(texts):
            return log_perplexity(model, texts)
    else:
        from .scoring import log_perplexity
        from .text import encode

        def score(texts):
            return log_perplexity(model, texts, tokenizer or encode)
    fit = fit_references(score(references))
    return {c: extrapolated_exposure(float(px), fit) for c, px in zip(canaries, score(canaries))}


def __getattr__(name):
    if name in ("CausalLM", "load_causal_lm"):  # torch only when asked for: the CLI's bad input stays fast
        from . import hf

        return getattr(hf, name)
    raise AttributeError(name)


__all__ = ["CanaryFormat", "CausalLM", "exposure", "load_causal_lm", "__version__"]
