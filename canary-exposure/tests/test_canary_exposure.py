"""canary-exposure: exposure against models with known probabilities, the tail of the extrapolation, padding,
extraction's order, Opacus, the paper's tie rule, bad input, and a whole reproduction at the tiny preset."""

import itertools
import json
import math
import random
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from canary_exposure import CanaryFormat
from canary_exposure.canaries import insert
from canary_exposure.cli import main
from canary_exposure.errors import ExposureError
from canary_exposure.extract import extract
from canary_exposure.report import render
from canary_exposure.runs import reproduce
from canary_exposure.scoring import exact_exposure, log_perplexity, skewnorm_logcdf, slot_log_perplexities
from canary_exposure.settings import get_preset
from canary_exposure.text import VOCAB, encode, read_corpus
from canary_exposure.training import TrainSettings, train

FMT = CanaryFormat("my number is {}", 3)


class Oracle(nn.Module):
    """Next-token logits that depend on the position only: at the j-th digit of the slot, digit d has logit
    ``table[j][d]``; everywhere else every token is equally likely. Its probabilities are known in closed form."""

    def __init__(self, table: torch.Tensor, start: int):
        super().__init__()
        self.table, self.start = table, start  # start: the position whose next token is the first digit
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, tokens):
        b, t = tokens.shape
        logits = torch.zeros(b, t, VOCAB) + 0 * self.dummy
        for j in range(self.table.shape[0]):
            pos = self.start + j
            if pos < t:
                logits[:, pos, :] = -1e4
                logits[:, pos, [ord(str(d)) for d in range(10)]] = self.table[j]
        return logits


def oracle(seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Oracle(torch.randn(FMT.digits, 10, generator=gen) * 2, start=len(encode(FMT.prefix)))


def by_hand(model: Oracle, secret: str) -> float:
    """-log2 Pr(canary): the prefix's bytes uniform over 257 tokens, each digit by its softmax."""
    cost = len(encode(FMT.prefix)) * math.log2(VOCAB)
    for j, d in enumerate(secret):
        cost -= torch.log_softmax(model.table[j], 0)[int(d)].item() / math.log(2)
    return cost


def float32_bits(fmt: CanaryFormat, model: Oracle) -> float:
    """How far two computations of a candidate's cost (bits) may differ: each of its tokens costs one float32
    log-softmax (exps, their sum, a log), rounded within a few float32 ulps of its operands (|logit| + ln VOCAB),
    and kernels round differently (AVX2 and AVX-512 sum and exponentiate in other orders: 120.0556928 vs
    120.0556925 bits on an AMX Xeon, 1.2e-7 relative, where this AMD CPU agrees to 1e-9). So 4 ulps per token
    (about 6e-5 bits here), far below what a wrong token or digit costs (at least 0.077 bits for these oracles)."""
    tokens = len(encode(fmt.render(fmt.secret(0))))
    return tokens * 4 * 2.0 ** -24 * (float(model.table.abs().max()) + math.log(VOCAB)) / math.log(2)


def test_exact_exposure_on_known_probabilities():
    model = oracle()
    scores = slot_log_perplexities(model, FMT)
    assert scores.shape == (1000,) and scores.dtype == np.float64  # summed in float64 (10^digits candidates)
    tol = float32_bits(FMT, model)
    for secret in ("000", "123", "999"):
        assert scores[int(secret)] == pytest.approx(by_hand(model, secret), abs=tol)
    # the trie gives what scoring every whole candidate gives
    whole = log_perplexity(model, [FMT.render(FMT.secret(i)) for i in range(1000)])
    assert np.allclose(scores, whole, rtol=0, atol=tol)
    best = FMT.secret(int(np.argmin(scores)))
    worst = FMT.secret(int(np.argmax(scores)))
    out = exact_exposure(scores, [best, worst])
    assert out[best]["rank"] == 1 and out[best]["exposure"] == pytest.approx(math.log2(1000))
    assert out[worst]["rank"] == 1000 and out[worst]["exposure"] == pytest.approx(0.0)
    # several canaries in one model: none is a candidate of another (the paper measures one per model)
    order = [FMT.secret(int(i)) for i in np.argsort(scores, kind="stable")]
    two = exact_exposure(scores, [order[0], order[1], order[5]], inserted=[order[0], order[1]])
    assert two[order[0]]["rank"] == 1 and two[order[1]]["rank"] == 1  # without the exclusion: 1 and 2
    assert two[order[5]]["rank"] == 4  # a reference canary ranks below the candidates only, inserted or not
    # over all candidates the mean exposure is near the null 1/ln 2 (exact for distinct scores: log2 of n!/n)
    every = exact_exposure(scores, [FMT.secret(i) for i in range(1000)])
    mean = np.mean([v["exposure"] for v in every.values()])
    assert mean == pytest.approx(math.log2(1000) - math.lgamma(1001) / math.log(2) / 1000, abs=1e-6)


@pytest.mark.parametrize("dp", [False, True])
def test_carrying_the_lstms_state_down_the_trie_scores_what_reading_every_prefix_scores(dp):
    from canary_exposure.models import build

    torch.manual_seed(0)
    model = build("lstm", dp=dp, embed=8, hidden=16).eval()
    carried = slot_log_perplexities(model, FMT, batch_size=64)
    read = slot_log_perplexities(model, FMT, batch_size=64, carry_state=False)
    assert np.allclose(carried, read, rtol=1e-6) and carried.std() > 0
    fmt = CanaryFormat("pin {} ok", 2)  # a suffix after the slot: scored on the whole candidates either way
    assert np.allclose(slot_log_perplexities(model, fmt), slot_log_perplexities(model, fmt, carry_state=False),
                       rtol=1e-6)


def test_a_suffix_after_the_slot_is_scored():
    fmt = CanaryFormat("pin {} ok", 2)
    model = Oracle(torch.randn(2, 10), start=len(encode(fmt.prefix)))
    scores = slot_log_perplexities(model, fmt)
    whole = log_perplexity(model, [fmt.render(fmt.secret(i)) for i in range(100)])
    assert np.allclose(scores, whole, rtol=0, atol=float32_bits(fmt, model))


def test_padding_is_masked():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(VOCAB, 8), nn.Linear(8, VOCAB))
    texts = ["a", "hello there", "my number is 12"]
    together = log_perplexity(model, texts)
    alone = [log_perplexity(model, [t])[0] for t in texts]
    assert np.allclose(together, alone, rtol=1e-6)


def test_the_extrapolation_stays_finite_in_the_tail_where_log_of_the_cdf_underflows():
    from scipy.stats import skewnorm

    for a in (-2.0, 0.0, 3.0):
        for z in (-3.5, -5.0, -8.0):  # where scipy's is accurate: the two agree
            assert skewnorm_logcdf(z, a, 0, 1) == pytest.approx(float(skewnorm.logcdf(z, a, 0, 1)), rel=1e-4)
        far = [skewnorm_logcdf(z, a, 0, 1) for z in (-40.0, -80.0, -400.0)]
        with np.errstate(divide="ignore"):
            assert np.log(skewnorm.cdf(-40.0, a, 0, 1)) == -np.inf  # the naive way gives infinite exposure
        assert all(math.isfinite(v) for v in far) and far[0] > far[1] > far[2]


def test_extraction_finds_secrets_in_order_of_likelihood_within_its_budget():
    model = oracle(1)
    scores = slot_log_perplexities(model, FMT)
    order = [FMT.secret(int(i)) for i in np.argsort(scores, kind="stable")[:5]]
    res = extract(model, FMT, budget=500, found=5, batch=7)
    assert [f["secret"] for f in res["found"]] == order
    assert res["queries"] < 1000  # fewer model queries than candidates
    hit = extract(model, FMT, budget=500, target=order[0])
    assert hit["extracted"] and hit["queries_to_target"] is not None
    # the least likely secret comes out last: after all 111 prefixes of the trie are queried
    miss = extract(model, FMT, budget=100, target=FMT.secret(int(np.argmax(scores))))
    assert not miss["extracted"] and miss["queries"] <= 100
    assert extract(model, FMT, budget=111, target=FMT.secret(int(np.argmax(scores))))["extracted"]
    assert extract(model, FMT, budget=2, target=order[0])["queries"] <= 2
    # the search goes on past more likely secrets until the target comes out
    third = extract(model, FMT, budget=500, target=order[2])
    assert third["extracted"] and [f["secret"] for f in third["found"]] == order[:3]


def test_a_trained_model_memorises_a_canary_inserted_often():
    docs = read_corpus_stub(200)
    secret, never = "417", "902"
    res = train(docs, FMT, {secret: 40}, [never],
                TrainSettings(arch_options={"embed": 16, "hidden": 48}, context=32, batch_size=32, epochs=3, lr=1e-2,
                              seed=0))
    last = res["history"][-1]["exposure"]
    assert last[secret] > 6 and last[secret] > last[never] + 3
    assert res["history"][-1]["valid_loss"] < res["history"][0]["valid_loss"] + 0.5


def read_corpus_stub(n):
    rng = random.Random(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away", "and", "then", "slept"]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) for _ in range(n)]


def test_opacus_trains_a_tiny_model_with_an_epsilon():
    res = train(read_corpus_stub(120), FMT, {"123": 2}, ["456"],
                TrainSettings(arch_options={"embed": 8, "hidden": 16}, context=16, batch_size=16, epochs=1, lr=1e-2,
                              dp=True, noise_multiplier=1.0, max_grad_norm=1.0, seed=0))
    eps = res["history"][0]["epsilon"]
    assert 0 < eps < float("inf")
    assert not hasattr(res["model"], "_module")  # the plain module, not Opacus' wrapper


def test_ties_count_against_the_canary_as_the_papers_rank_does():
    """rank = |{r : Px(r) <= Px(s)}|: a model that gives every candidate the same probability exposes nothing."""
    flat = slot_log_perplexities(Oracle(torch.zeros(FMT.digits, 10), start=len(encode(FMT.prefix))), FMT)
    assert np.ptp(flat) < 1e-9
    out = exact_exposure(flat, ["123", "456"], inserted=["123", "456"])
    assert out["123"]["rank"] == 999 and out["123"]["exposure"] == pytest.approx(math.log2(1000 / 999))
    # TensorFlow Privacy's convention on a small vector: a tie with one other candidate gives rank 3, not 2
    scores = np.array([1.0, 2.0, 2.0, 3.0])
    assert exact_exposure(scores, ["1"])["1"]["rank"] == 3
    assert exact_exposure(scores, ["1"], inserted=["1", "2"])["1"]["rank"] == 2  # the other canary is no candidate


def test_the_byte_transformer_trains_is_causal_and_scores_like_whole_candidates():
    res = train(read_corpus_stub(120), FMT, {"123": 4}, ["456"],
                TrainSettings(arch="transformer", arch_options={"width": 16, "layers": 1, "heads": 2, "context": 32},
                              context=16, batch_size=16, epochs=1, lr=1e-2, seed=0))
    model = res["model"].eval()
    assert math.isfinite(res["history"][0]["valid_loss"])
    tokens = torch.randint(0, VOCAB, (2, 12))
    changed = tokens.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % VOCAB
    with torch.no_grad():  # a later token never changes an earlier position's prediction
        assert torch.allclose(model(tokens)[:, :8], model(changed)[:, :8], atol=1e-5)
    scores = slot_log_perplexities(model, FMT)
    whole = log_perplexity(model, [FMT.render(FMT.secret(i)) for i in range(1000)])
    assert np.allclose(scores, whole, rtol=1e-5)


def test_canaries_and_formats():
    with pytest.raises(ExposureError, match="slot"):
        CanaryFormat("no slot here", 3)
    with pytest.raises(ExposureError, match="3 digits"):
        FMT.render("12")
    docs = insert(["a", "b"], FMT, {"001": 3, "002": 1}, random.Random(0))
    assert docs.count(FMT.render("001")) == 3 and docs.count(FMT.render("002")) == 1 and len(docs) == 6
    drawn = FMT.draw(50, random.Random(1))
    assert len(set(drawn)) == 50 and all(len(s) == 3 for s in drawn)


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert main(["reproduce", "--preset", "tiny", "--corpus", str(empty), "--out", str(tmp_path / "r")]) == 2
    assert main(["exposure", "--model", str(tmp_path), "--canary-format", "none", "--secret", "1"]) == 2
    assert main(["exposure", "--model", str(tmp_path), "--digits", "9", "--secret", "123456789"]) == 2
    assert main(["exposure", "--model", str(tmp_path / "missing"), "--secret", "123456"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("canary-exposure: ") for line in err)
    assert "slot" in err[1] and "--extrapolate" in err[2] and "no saved model" in err[3]
    with pytest.raises(ExposureError, match="holds no text"):
        read_corpus(empty)


def test_a_damaged_model_does_not_load(tmp_path, capsys):
    (tmp_path / "plain.json").write_text(json.dumps({"settings": {"arch": "lstm", "arch_options": {}}}))
    (tmp_path / "plain.safetensors").write_bytes(b"not a safetensors file")
    assert main(["extract", "--model", str(tmp_path), "--digits", "3"]) == 2
    assert "does not load" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_reproduction_end_to_end_and_resume(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(read_corpus_stub(300)))
    out = tmp_path / "run"
    argv = ["reproduce", "--preset", "tiny", "--corpus", str(corpus), "--out", str(out)]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert [c["id"] for c in res["claims"]] == ["null_near_expected", "rises_with_insertions",
                                               "memorised_before_overfitting", "extrapolation_agrees",
                                               "extraction_of_exposed", "dp_sgd_at_null"]
    assert {c["verdict"] for c in res["claims"]} <= {"holds", "does not hold", "inconclusive", "not testable"}
    assert res["runs"]["0"]["dp"]["history"][-1]["epsilon"] > 0
    html = (out / "report.html").read_text()
    assert "smoke test" in html and "<script" not in html
    capsys.readouterr()
    assert main(argv) == 0  # everything reused
    assert capsys.readouterr().out.count("done before, reused") == 4
    privacy = res["runs"]["0"]["dp"]["privacy"]  # a canary inserted k times is k records: k epsilon holds for it
    assert [g["k"] for g in privacy["per_canary"]] == [1, 8, 32]
    assert [g["epsilon"] for g in privacy["per_canary"]] == [k * privacy["epsilon_per_window"] for k in (1, 8, 32)]
    assert "group bound" in html
    # DP-SGD on the first seed only: the DP claim is judged over that seed, the others over both; nothing retrains
    # (a model's key holds neither the seed list nor the preset's name)
    fewer = reproduce(replace(get_preset("tiny"), name="other", dp_seeds=1), out, corpus=corpus)
    assert "dp" not in fewer["runs"]["1"] and "dp" in fewer["runs"]["0"]
    assert {c["id"]: c["seeds"] for c in fewer["claims"]}["dp_sgd_at_null"] == 1
    assert {c["id"]: c["seeds"] for c in fewer["claims"]}["rises_with_insertions"] == 2
    assert fewer["seconds"] < res["seconds"] / 2
    assert "Seeds 0 also train with DP-SGD" in render(fewer)
    model_out = main(["exposure", "--model", str(out / "seed-0"), "--canary-format", "my random number is {}",
                      "--digits", "3", "--secret", res["runs"]["0"]["plain"]["references"][0]])
    assert model_out == 0 and "exposure" in capsys.readouterr().out


def test_all_candidates_enumerate_each_secret_once():
    assert sorted(FMT.secret(i) for i in range(1000)) == ["".join(p) for p in itertools.product("0123456789",
                                                                                               repeat=3)]


def test_bench_reports_exact_scoring_and_training_speed(capsys):
    assert main(["bench", "--preset", "tiny", "--digits", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["candidates"] == 100 and out["exact_scoring_seconds"] > 0 and out["training_tokens_per_second"] > 0


def test_extraction_batches_prefixes_of_different_lengths():
    """A batch of the cheapest open prefixes mixes lengths when the model is unsure (it broke the first quick run)."""
    fmt = CanaryFormat("my number is {}", 4)
    model = Oracle(torch.randn(4, 10, generator=torch.Generator().manual_seed(3)) * 0.1,
                   start=len(encode(fmt.prefix)))
    scores = slot_log_perplexities(model, fmt)
    res = extract(model, fmt, budget=3000, found=3, batch=64)
    assert [f["secret"] for f in res["found"]] == [fmt.secret(int(i)) for i in np.argsort(scores, kind="stable")[:3]]


def test_extraction_counts_queries_per_search_and_batching_inflates_them():
    """A memorised 3-digit secret: pure best-first asks for the empty prefix and its two proper prefixes (3
    queries); at a batch of 64 a round expands the 64 cheapest prefixes whatever they are: 1 + 10 + 64."""
    table = torch.zeros(FMT.digits, 10)
    for j, d in enumerate("417"):
        table[j, int(d)] = 12.0
    model = Oracle(table, start=len(encode(FMT.prefix)))
    one = extract(model, FMT, budget=500, target="417", batch=1)
    assert one["queries_to_target"] == 3 and one["forward_passes"] == 3
    wide = extract(model, FMT, budget=500, target="417", batch=64)
    assert wide["queries_to_target"] == 1 + 10 + 64 and wide["forward_passes"] == 3


@pytest.mark.slow
def test_the_tiny_report_reads_right_in_a_browser(tmp_path, capsys):
    """Chromium shows the report's text, no tag or escaped tag in it, each verdict with its symbol and word; the
    console says first and last that a tiny run is a smoke test, and prints each claim's statistic."""
    from verdicts import browser
    from verdicts.table import verdict_text

    browser.require()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(read_corpus_stub(300)))
    out = tmp_path / "run"
    assert main(["reproduce", "--preset", "tiny", "--seeds", "0", "--corpus", str(corpus), "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("SMOKE TEST") and lines[-1].startswith("SMOKE TEST")
    assert any(line.strip().startswith("test: ") for line in lines)  # the numbers, not only the words
    seen = browser.seen(out / "report.html", select="table.claims .verdict")
    assert not re.findall(r"<[a-z/!][^>]*>?", seen.text) and "&lt;" not in seen.text, "tags show as text"
    assert not seen.broken_links
    claims = json.loads((out / "results.json").read_text())["claims"]
    assert seen.selected == [verdict_text({"verdict": c["verdict"]}) for c in claims]
    assert "{'" not in seen.text and "1 secrets" not in seen.text  # prose, not a Python dict
    table = seen.text.split("Claims (mean over seeds")[1].split("Figures")[0]
    assert not re.search(r"\d\.\d{5,}", table)  # statistics and margins rounded (no 0.442695)


@pytest.mark.slow  # 16 s: two tiny models trained
def test_an_audit_bounds_epsilon_from_the_reproductions_own_scores(tmp_path):
    """An audited run plants the audit canaries that came up heads (and only those), keeps the seed's other
    canaries, records for each model the bound computed from that model's scores, and sets the DP model's beside
    the accountant's epsilon for the audit canary's k and 2k windows; without an audit, its settings are not in a
    model's key (so the keys of the presets without one did not change)."""
    from canary_exposure import audit as auditing
    from canary_exposure.measure import plan
    from canary_exposure.runs import load_model, run_key

    corpus = tmp_path / "corpus.txt"
    docs = read_corpus_stub(300)
    corpus.write_text("\n\n".join(docs))
    tiny = get_preset("tiny")
    p = replace(tiny, name="audited", seeds=(0,), audit=20, audit_insertions=8)
    assert run_key(tiny, docs, 0, False) == run_key(replace(tiny, audit_insertions=3), docs, 0, False)
    assert run_key(tiny, docs, 0, False) != run_key(p, docs, 0, False)
    res = reproduce(p, tmp_path / "run", corpus=corpus)
    fmt = CanaryFormat(p.template, p.digits)
    audited, coins, _ = auditing.plan(fmt, 20, 8, 0, *plan(p, 0))
    for name in ("plain", "dp"):
        record = res["runs"]["0"][name]
        assert record["inserted"] == plan(tiny, 0)[0]  # the claims' canaries are the same with an audit
        heads = {x for x, c in zip(audited, coins) if c}
        assert set(record["history"][0]["exposure"]) == set(record["inserted"]) | set(record["references"]) | heads
        model, _ = load_model(tmp_path / "run" / "seed-0", name)
        again = auditing.audit(slot_log_perplexities(model, fmt)[[int(x) for x in audited]], coins)
        assert {k: record["audit"][k] for k in again} == pytest.approx(again)
        assert record["audit"]["included"] == len(heads)
    dp = res["runs"]["0"]["dp"]
    eps = dp["privacy"]["epsilon_per_window"]
    assert dp["audit"]["accountant_epsilon"] == pytest.approx([8 * eps, 16 * eps])
    assert "accountant_epsilon" not in res["runs"]["0"]["plain"]["audit"]
    # the plain model is still searched for its canaries, the DP-SGD model is not (with or without an audit)
    assert "extraction" in res["runs"]["0"]["plain"] and "extraction" not in dp
    assert "epsilon at least" in render(res)
    with pytest.raises(ExposureError, match="audit"):
        replace(tiny, audit=1)
