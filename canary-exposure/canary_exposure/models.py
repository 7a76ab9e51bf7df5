"""Causal language models over tokens: every model maps (B, T) token ids to (B, T, V) next-token logits.

- ``ByteLSTM``: the paper's family (character-level LSTMs); with ``dp=True`` its LSTM is Opacus' DPLSTM, whose
  per-example gradients DP-SGD needs.
- ``ByteTransformer``: a small causal transformer.

A Hugging Face causal LM is not one of these: it has its own tokenizer and begin token, and ``hf.CausalLM``
scores it with them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .errors import ExposureError
from .text import VOCAB


class ByteLSTM(nn.Module):
    def __init__(self, vocab: int = VOCAB, embed: int = 64, hidden: int = 256, layers: int = 1, dp: bool = False):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        if dp:
            from opacus.layers import DPLSTM

            self.rnn = DPLSTM(embed, hidden, num_layers=layers, batch_first=True)
        else:
            self.rnn = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.embed(tokens))
        return self.out(h)

    def step(self, tokens: torch.Tensor, state=None):
        """The next-token logits after ``tokens`` (B, T), read on from ``state`` (None: from the start), and the
        state after them: what lets exact scoring walk the digit trie one token at a time instead of reading
        every prefix again."""
        h, state = self.rnn(self.embed(tokens), state)
        return self.out(h[:, -1]), state


class ByteTransformer(nn.Module):
    def __init__(self, vocab: int = VOCAB, width: int = 128, layers: int = 2, heads: int = 4, context: int = 256):
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Embedding(context, width)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(width, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        t = tokens.shape[1]
        if t > self.context:
            raise ExposureError(f"a sequence of {t} tokens is longer than the transformer's context {self.context}")
        mask = torch.triu(torch.full((t, t), -math.inf, device=tokens.device), diagonal=1)
        h = self.embed(tokens) + self.position(torch.arange(t, device=tokens.device))
        return self.out(self.body(h, mask=mask, is_causal=True))


ARCHS = {"lstm": ByteLSTM, "transformer": ByteTransformer}


def build(arch: str, dp: bool = False, **options) -> nn.Module:
    if arch not in ARCHS:
        raise ExposureError(f"unknown architecture '{arch}'; use one of {', '.join(ARCHS)}")
    if dp and arch != "lstm":
        raise ExposureError("DP-SGD (Opacus) is supported for the LSTM here; use --arch lstm")
    return ARCHS[arch](dp=dp, **options) if arch == "lstm" else ARCHS[arch](**options)
