"""Train a language model on a corpus with canaries in it, and measure their exposure as it learns.

The documents (canaries among them, each its own document) are shuffled once and joined into one stream of
tokens, each document after a begin token; the stream is cut into windows of ``context`` + 1 tokens, shuffled
every epoch. A share of the original documents is held out (never with a canary) for the validation loss.
After every epoch: train and validation loss (nats per token) and every canary's exposure, exact.
With ``dp``, DP-SGD through Opacus (per-example clipping and Gaussian noise, Poisson sampling), and the
accountant's epsilon at delta = 1 / (number of windows).
"""

from __future__ import annotations

import random
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch.nn import functional as F

from .canaries import CanaryFormat, insert
from .errors import ExposureError
from .models import build
from .scoring import exact_exposure, slot_log_perplexities
from .text import BOS, encode


@dataclass
class TrainSettings:
    arch: str = "lstm"
    arch_options: dict = field(default_factory=dict)
    context: int = 64
    batch_size: int = 64
    epochs: int = 10
    lr: float = 2e-3
    valid_share: float = 0.05
    dp: bool = False
    noise_multiplier: float = 1.0
    max_grad_norm: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _windows(documents: list[str], context: int) -> torch.Tensor:
    stream = []
    for d in documents:
        stream += [BOS] + encode(d)
    n = (len(stream) - 1) // context
    if n < 1:
        raise ExposureError(f"the corpus has fewer than {context + 1} tokens; give a larger corpus")
    t = torch.tensor(stream[:n * context + 1])
    return torch.stack([t[i * context:(i + 1) * context + 1] for i in range(n)])


def split(documents: list[str], share: float, rng: random.Random) -> tuple[list[str], list[str]]:
    docs = list(documents)
    rng.shuffle(docs)
    k = max(1, int(round(share * len(docs)))) if share > 0 else 0
    if k >= len(docs):
        raise ExposureError(f"a corpus of {len(docs)} documents is too small to hold out {share:.0%} of it")
    return docs[k:], docs[:k]


def _loss(model, windows: torch.Tensor) -> torch.Tensor:
    logits = model(windows[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1))


@torch.inference_mode()
def evaluate_loss(model, windows: torch.Tensor, batch_size: int = 256) -> float:
    model.eval()
    dev = next(model.parameters()).device
    total = sum(float(_loss(model, windows[i:i + batch_size].to(dev))) * len(windows[i:i + batch_size])
                for i in range(0, len(windows), batch_size))
    return total / len(windows)


def train(documents: list[str], fmt: CanaryFormat, insertions: dict[str, int], references: list[str],
          s: TrainSettings, *, say: Callable[[str], None] | None = None, device: str = "cpu") -> dict:
    """Train with ``insertions`` (secret -> times inserted) and return the model, the history per epoch
    (losses, every inserted and reference canary's exact exposure) and the DP accounting. ``device`` is not a
    setting: the same run on a GPU is the same run (its numbers differ in the last digits only)."""
    if s.epochs < 1 or s.batch_size < 1 or s.context < 2:
        raise ExposureError("training needs epochs >= 1, a batch of >= 1 and a context of >= 2 tokens")
    rng = random.Random(s.seed)
    torch.manual_seed(s.seed)
    train_docs, valid_docs = split(documents, s.valid_share, rng)
    train_docs = insert(train_docs, fmt, insertions, rng)
    windows, valid = _windows(train_docs, s.context), _windows(valid_docs, s.context)
    model = build(s.arch, dp=s.dp, **s.arch_options).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(windows), batch_size=s.batch_size,
                                         shuffle=True, generator=torch.Generator().manual_seed(s.seed))
    engine = None
    if s.dp:
        from opacus import PrivacyEngine

        # Opacus warns that its RNG is not cryptographically secure (fine for measuring, not for a release) and
        # that its hooks fire on the embedding's integer input: both expected here
        warnings.filterwarnings("ignore", message="Secure RNG turned off")
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        engine = PrivacyEngine(accountant="rdp")
        model, opt, loader = engine.make_private(module=model, optimizer=opt, data_loader=loader,
                                                 noise_multiplier=s.noise_multiplier, max_grad_norm=s.max_grad_norm)
    history = []
    secrets = list(insertions) + list(references)
    for epoch in range(1, s.epochs + 1):
        began = time.perf_counter()
        model.train()
        seen = total = 0.0
        for (batch,) in loader:
            if len(batch) == 0:  # Poisson sampling can draw an empty batch
                continue
            opt.zero_grad(set_to_none=True)
            loss = _loss(model, batch.to(device))
            loss.backward()
            opt.step()
            seen += len(batch)
            total += loss.item() * len(batch)
        scores = slot_log_perplexities(_plain(model), fmt)
        exposures = exact_exposure(scores, secrets, inserted=list(insertions))
        row = {"epoch": epoch, "train_loss": total / max(seen, 1), "valid_loss": evaluate_loss(_plain(model), valid),
               "seconds": time.perf_counter() - began,
               "exposure": {s_: exposures[s_]["exposure"] for s_ in secrets}}
        if engine is not None:
            row["epsilon"] = engine.get_epsilon(delta=1 / len(windows))
        history.append(row)
        if say:
            say(f"epoch {epoch}/{s.epochs}: train {row['train_loss']:.3f}, valid {row['valid_loss']:.3f} nats/token"
                + (f", epsilon {row['epsilon']:.2f}" if "epsilon" in row else "") + f" ({row['seconds']:.0f} s)")
    return {"model": _plain(model), "history": history, "windows": len(windows), "valid_windows": len(valid),
            "delta": 1 / len(windows) if s.dp else None, "tokens": int(windows.numel())}


def _plain(model):
    """The module itself (Opacus wraps it in a GradSampleModule)."""
    return getattr(model, "_module", model)

