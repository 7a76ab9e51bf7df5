"""The README's claim tables are what the committed results say (docs/build_front_door.py)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _builder():
    spec = importlib.util.spec_from_file_location("build_front_door", ROOT / "docs" / "build_front_door.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_tables_are_the_committed_results():
    assert _builder().main(["--check"]) == 0


def test_a_hand_edited_table_is_caught(tmp_path, monkeypatch):
    builder = _builder()
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text().replace("| **holds** |", "| **does not hold** |", 1))
    monkeypatch.setattr(builder, "README", readme)
    assert builder.main(["--check"]) == 1
    assert builder.main([]) == 0 and builder.main(["--check"]) == 0  # rewriting makes it true again


NOTBUGS = "benchmarks/results/cpu-2026-12-07/ablate-sgd-fresh-quick-seeds30-32/preset/results.json"


def _notbugs_claim(cid: str) -> dict:
    import json

    claims = json.loads((ROOT / NOTBUGS).read_text())["experiments"]["paper"]["claims"]
    return next(c for c in claims if c["id"] == cid)


def test_the_table_shows_each_claim_with_its_interval_and_verdict():
    block = _builder().block()
    assert NOTBUGS in [src[1] for src in _builder().SOURCES]
    # D_NR clean over seeds 30-32: 81.8 [77.7, 86.0], as its committed results give it
    test = _notbugs_claim("nonrobust_features_suffice")["tests"][0]
    low, high = test["ci"]
    assert f"| {100 * test['value']:.1f} [{100 * low:.1f}, {100 * high:.1f}] % (margin >= 73.7 %) | **holds** |" \
        in block
    assert "| 81.8 [77.7, 86.0] % (margin >= 73.7 %) | **holds** |" in block
    assert "not run" not in block  # claims of experiments a source did not run are left out


def test_an_undecided_claim_says_how_many_seeds_would_decide_it():
    """The gap at quick over seeds 30-32 (20.7 [11.4, 30.0] against 22.5): the kernel's count from the stored
    per-seed estimates; a decided claim gets no count."""
    from verdicts import seeds_to_decide

    block = _builder().block()
    gap = _notbugs_claim("robust_features_give_robustness")["tests"][0]
    need = seeds_to_decide([v["estimate"] for v in gap["values"]], 0.225)
    assert need and f"20.7 [11.4, 30.0] % (margin >= 22.5 %); about {need} seeds would decide it" in block
    assert "| 81.8 [77.7, 86.0] % (margin >= 73.7 %) | **holds** |" in block
