"""The researcher's tool: AutoAttack, the CLI's round trip and conventions, configs, examples, docs, packaging."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import notbugs
from notbugs.cli import main
from notbugs.core.errors import NotbugsError, NotbugsWarning
from notbugs.core.storage import read_json
from notbugs.experiments.registry import REGISTRY

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("std") / "std"
    assert main(["train", "--dataset", "digits", "--arch", "cnn", "--epochs", "3", "--no-augment", "--out", str(out),
                 "--quiet"]) == 0
    return out


# --- AutoAttack ---------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_autoattack_is_never_weaker_than_pgd_and_reports_each_attack(digits_mlp, digits):
    from notbugs.evaluation.autoattack import autoattack

    x, y = digits.test_x[:80], digits.test_y[:80]
    pgd20 = notbugs.robust_accuracy(digits_mlp, x, y, norm="linf", eps=0.1, steps=20)
    aa = autoattack(digits_mlp, x, y, norm="linf", eps=0.1, seed=0, steps=20)
    names = [s["attack"] for s in aa["after"]]
    assert names == ["clean", "apgd-ce", "apgd-t", "fab-t", "square"]
    values = [float(s["robust_accuracy"]) for s in aa["after"]]
    assert values == sorted(values, reverse=True)  # each attack runs on what is still robust: it only falls
    assert float(aa["robust_accuracy"]) <= float(pgd20) + 0.02


@pytest.mark.slow
def test_eval_autoattack_prints_the_accuracy_after_each_attack(digits_run, tmp_path, capsys):
    assert main(["eval", "--model", str(digits_run), "--eps", "0.5", "--steps", "5", "--limit", "40", "--strong",
                 "--out", str(tmp_path / "e.json"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "AutoAttack" in out and "apgd-ce" in out and "square" in out
    saved = read_json(tmp_path / "e.json")
    aa = saved["autoattack"][0.5]
    assert float(aa["robust_accuracy"]) <= float(saved["robust_accuracy"][0.5]) + 0.05


# --- the CLI ------------------------------------------------------------------------------------------------------

def test_round_trip_construct_train_eval(digits_run, tmp_path, capsys):
    """A constructed dataset is trained on from the CLI (built:PATH) and the model tested on the source's test split."""
    ddet = tmp_path / "ddet"
    assert main(["construct", "det", "--model", str(digits_run), "--limit", "200", "--steps", "5", "--quiet",
                 "--out", str(ddet)]) == 0
    assert f"--dataset built:{ddet}" in capsys.readouterr().out
    info = read_json(ddet / "manifest.json")
    assert info["config"]["settings"]["eps"] == 1.0  # digits' default: the tiny preset's robust eps
    assert info["config"]["settings"]["step_size"] is None  # 2.5 * eps / steps, as every attack
    model = tmp_path / "on-ddet"
    assert main(["train", "--dataset", f"built:{ddet}", "--arch", "mlp", "--epochs", "2", "--no-augment",
                 "--out", str(model), "--quiet"]) == 0
    manifest = read_json(model / "manifest.json")
    assert manifest["dataset"] == f"built:{ddet}" and manifest["train_size"] == 200
    assert main(["eval", "--model", str(model), "--eps", "0.5", "--steps", "2", "--quiet"]) == 0
    source = notbugs.load_dataset("digits")  # a built dataset is tested on its source's test split: all of it
    assert f"built:{ddet} test set, {len(source.test_y)} images, l2 PGD-2" in capsys.readouterr().out.splitlines()
    data = notbugs.load_dataset(f"built:{ddet}")
    assert torch.equal(data.test_y, source.test_y)


def test_built_dataset_errors_say_what_to_do(tmp_path, digits_run, capsys):
    assert main(["train", "--dataset", f"built:{tmp_path / 'none'}", "--out", str(tmp_path / "o")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["train", "--dataset", f"built:{digits_run}", "--out", str(tmp_path / "o")]) == 2
    assert "data.safetensors" in capsys.readouterr().err  # a model's run folder is not a dataset


def test_construct_in_linf_with_a_fraction(digits_run, tmp_path):
    out = tmp_path / "linf"
    assert main(["construct", "rand", "--model", str(digits_run), "--norm", "Linf", "--eps", "8/255", "--limit", "50",
                 "--steps", "4", "--quiet", "--out", str(out)]) == 0
    info = read_json(out / "manifest.json")
    assert info["config"]["settings"]["norm"] == "linf" and abs(info["config"]["settings"]["eps"] - 8 / 255) < 1e-12
    assert info["stats"]["perturbation_linf_max"] <= 8 / 255 + 1e-6


def test_construct_warns_when_the_path_cannot_reach_eps(digits_run, tmp_path, capsys):
    assert main(["construct", "det", "--model", str(digits_run), "--eps", "8", "--steps", "5", "--step-size", "0.1",
                 "--limit", "30", "--quiet", "--out", str(tmp_path / "d")]) == 0
    err = capsys.readouterr().err
    assert "cannot reach the edge of the ball" in err and "succeeded on only" in err


def test_eps_fractions_and_norm_spellings(digits_run, tmp_path):
    assert main(["eval", "--model", str(digits_run), "--norm", "Linf", "--eps", "4/255,8/255", "--steps", "2",
                 "--limit", "20", "--out", str(tmp_path / "e.json"), "--quiet"]) == 0
    keys = list(read_json(tmp_path / "e.json")["robust_accuracy"])
    assert keys == [4 / 255, 8 / 255]


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "digits", "--eps", "1.0"], "without --adv"),
    (["train", "--dataset", "digits", "--adv", "L2"], "needs --eps"),
])
def test_train_refuses_an_eps_it_would_ignore(tmp_path, capsys, argv, message):
    assert main(argv + ["--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_help_shows_every_default_and_choice(capsys, monkeypatch):
    from notbugs.models import ARCHS

    monkeypatch.setenv("COLUMNS", "400")  # no line breaks inside a name

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in ARCHS) and "built:PATH" in text and "madry:DIR" in text
    assert "(default: 10)" in text and "(default: 0.0)" in text and "(default: fashion-mnist)" in text
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and notbugs.__version__ in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "nonsense"], "unknown experiment 'nonsense'"),
    (["reproduce", "paper", "--dataset", "folder:/nowhere"], "not a folder"),
    (["reproduce", "paper", "--device", "cuda"], "CUDA"),
    (["reproduce", "paper", "--preset", "tiny", "--set", "inversion.stepz=3"], "valid fields of inversion"),
    (["reproduce", "paper", "--preset", "tiny", "--set", "eval_steps=many"], "eval_steps takes int"),
    (["reproduce", "paper", "--preset", "tiny", "--set", "experiments.paper.x=1"], "no settings|unknown field"),
])
def test_preflight_errors_come_before_anything_is_written(tmp_path, capsys, argv, message):
    import re

    if "cuda" in argv and torch.cuda.is_available():
        pytest.skip("a CUDA device is visible here")
    assert main(argv + ["--out", str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    assert re.search(message, captured.err) and captured.err.count("\n") == 1
    assert "report:" not in captured.out and not (tmp_path / "o").exists()


def test_seeds_take_ranges_and_say_held_on():
    from notbugs.running.seeds import combine_claim
    from verdicts import UsageError, parse_seeds

    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    with pytest.raises(UsageError):
        parse_seeds("2,2")
    rows = [{"id": "c", "who": "w", "statement": "s", "published": "p", "ours": "o", "evidence": "e",
             "verdict": v, "tests": [], "premises": []} for v in ("holds", "does not hold")]
    assert combine_claim(rows, [0, 1])["seeds_held"] == "1 of 2 seeds"


@pytest.mark.slow
def test_progress_off_a_terminal_is_plain_lines(tmp_path):
    """Piped (a log file, a cluster job), training says a line when it ends, without tqdm's carriage returns."""
    proc = subprocess.run([sys.executable, "-m", "notbugs", "train", "--dataset", "digits", "--arch", "linear",
                           "--epochs", "2", "--out", str(tmp_path / "m")], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "batches in" in proc.stderr and len(proc.stderr.splitlines()) < 10


# --- configs ------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_config_and_set_give_the_run_flags_give(tmp_path):
    """--set and a TOML config change the same field to the same numbers; the settings of a run, given back as
    a config on an empty store, reproduce its results."""
    base = ["reproduce", "paper", "--preset", "tiny", "--quiet"]
    assert main(base + ["--set", "eval_steps=4", "--set", "inversion.steps=3", "--out", str(tmp_path / "a")]) == 0
    (tmp_path / "c.toml").write_text('name = "tiny"\neval_steps = 4\n[inversion]\nsteps = 3\n')
    assert main(["reproduce", "paper", "--config", str(tmp_path / "c.toml"), "--quiet", "--out",
                 str(tmp_path / "b")]) == 0
    assert main(["reproduce", "paper", "--config", str(tmp_path / "a" / "results.json"), "--quiet", "--out",
                 str(tmp_path / "c")]) == 0
    runs = [read_json(tmp_path / k / "results.json") for k in "abc"]
    assert runs[0]["settings"]["eval_steps"] == 4 and runs[0]["settings"]["inversion"]["steps"] == 3
    numbers = {json.dumps({"m": r["models"], "c": [(c["id"], str(c["verdict"])) for c in r["claims"]]},
                          default=str, sort_keys=True) for r in runs}
    assert len(numbers) == 1


@pytest.mark.slow
def test_experiment_settings_can_be_changed(tmp_path):
    from notbugs.running.runner import make_preset, run_experiments

    preset = make_preset("tiny", overrides={"experiments": {"stress": {"images": 20}}})
    res = run_experiments(["stress"], preset, out=tmp_path, progress=False)
    stress = res["experiments"]["stress"]
    assert stress["settings"]["images"] == 20 and stress["results"]["images"] == 20


# --- the Python API -----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_wrapped_module_is_the_standard_model_of_a_run(tmp_path, digits):
    from notbugs.methods.train import TrainConfig, train
    from notbugs.running.runner import make_preset, run_experiments

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    model = notbugs.wrap(net)
    train(model, digits.train_x, digits.train_y, TrainConfig(epochs=5, crop_padding=0, flip=False), progress=False)
    res = run_experiments(["paper"], make_preset("tiny"), out=tmp_path, progress=False, models={"std": model.eval()})
    assert "in-memory std model" in [s["step"] for s in res["steps"]]
    assert float(res["models"]["std"]["clean_accuracy"]) == float(notbugs.accuracy(model, digits.test_x, digits.test_y))
    with pytest.raises(NotbugsError, match="torch.nn.Module"):
        run_experiments(["paper"], make_preset("tiny"), out=tmp_path / "x", progress=False, models={"std": "model"})


def test_the_public_api_is_importable_from_the_package():
    for name in notbugs.__all__:
        assert getattr(notbugs, name) is not None


# --- warnings of degenerate states --------------------------------------------------------------------------------

def test_degenerate_states_are_warned_of(digits):
    from notbugs.methods.construct import InversionConfig, feature_dataset
    from notbugs.methods.train import TrainConfig, train

    net = notbugs.wrap(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)))
    x, y = digits.train_x[:64], digits.train_y[:64]
    with pytest.warns(NotbugsWarning, match="sixth of their side"):
        train(net, x, y, TrainConfig(epochs=1, crop_padding=2), progress=False)
    with pytest.warns(NotbugsWarning, match="chance accuracy"):
        train(net, x, y, TrainConfig(epochs=1, lr=1e-6, crop_padding=0, adv="l2", eps=50.0, steps=1), progress=False)

    class Dead(torch.nn.Module):  # a representation of all zeros: every distance 0
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Linear(4, 10)

        def features(self, x):
            return torch.zeros(len(x), 4) * x.flatten(1)[:, :4]

        def forward(self, x):
            return self.head(self.features(x))

    with pytest.warns(NotbugsWarning, match="all zeros"):
        feature_dataset(Dead(), x[:20], y[:20], InversionConfig(steps=2), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotbugsWarning)  # a sound setting warns of nothing
        train(net, x, y, TrainConfig(epochs=1, crop_padding=1), progress=False)


@pytest.mark.slow
def test_a_run_keeps_its_warnings_in_results_and_report(tmp_path):
    from notbugs.report import render
    from notbugs.running.runner import make_preset, run_experiments

    preset = make_preset("tiny", overrides={"fresh": {"crop_padding": 3}})
    res = run_experiments(["paper"], preset, out=tmp_path, progress=False)
    assert any("sixth of their side" in w for w in res["warnings"])
    again = run_experiments(["paper"], preset, out=tmp_path / "again", cache=tmp_path / "cache", progress=False)
    assert again["warnings"] == res["warnings"]  # read from the store, said again
    assert "sixth of their side" in render(res, tmp_path)


@pytest.mark.slow
def test_a_run_writes_an_event_log(tmp_path):
    assert main(["reproduce", "theory", "--preset", "tiny", "--quiet", "--out", str(tmp_path / "o")]) == 0
    events = [json.loads(line) for line in (tmp_path / "o" / "events.jsonl").read_text().splitlines()]
    assert {"started", "built"} <= {e["event"] for e in events}
    assert all({"step", "kind", "key", "time"} <= set(e) for e in events)


# --- docs, examples, packaging ------------------------------------------------------------------------------------

EXAMPLES = {
    "robust_and_nonrobust_datasets.py": ["--limit", "300", "--epochs", "2", "--inversion-steps", "10"],
    "your_own_model.py": ["--epochs", "2", "--limit", "100"],
    "run_an_experiment.py": ["theory", "--no-open", "--out", "{tmp}/run"],
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.slow
def test_each_example_runs(name, tmp_path):
    args = [a.format(tmp=tmp_path) for a in EXAMPLES[name]]
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_opens_as_a_notebook(name):
    import jupytext

    notebook = jupytext.read(ROOT / "examples" / name)
    kinds = [c.cell_type for c in notebook.cells]
    assert kinds[0] == "markdown" and kinds.count("code") >= 3
    for cell in notebook.cells:
        if cell.cell_type == "code":
            compile(cell.source, name, "exec")


@pytest.mark.slow
def test_the_experiment_pages_are_generated_from_a_run(tmp_path):
    from notbugs.experiments.registry import REGISTRY

    assert main(["reproduce", "theory", "--preset", "tiny", "--quiet", "--out", str(tmp_path / "o")]) == 0
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "build_experiments.py"), str(tmp_path / "o" /
                           "results.json"), str(tmp_path / "pages")], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = json.loads((tmp_path / "o" / "results.json").read_text())
    theory = (tmp_path / "pages" / "theory.md").read_text()
    for claim in run["experiments"]["theory"]["claims"]:
        assert claim["statement"].replace("|", "\\|") in theory and f"**{claim['verdict']}**" in theory
    assert "**not run**" in (tmp_path / "pages" / "paper.md").read_text()
    index = (tmp_path / "pages" / "README.md").read_text()
    assert all(f"({e.name}.md)" in index for e in REGISTRY) and "not run" in index


@pytest.mark.slow
def test_the_api_reference_builds_without_warnings(tmp_path):
    proc = subprocess.run([sys.executable, "-W", "error", str(ROOT / "docs" / "build_api.py"), str(tmp_path / "api")],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          timeout=300)
    assert proc.returncode == 0 and "Warn" not in proc.stderr, proc.stderr[-2000:]
    assert (tmp_path / "api" / "notbugs" / "attacks.html").is_file()


@pytest.mark.slow
def test_the_wheel_and_the_sdist_install_in_a_fresh_venv(tmp_path):
    """Built from a copy of this tree by setuptools' own build hooks, each installs (without its dependencies,
    which the fresh venv borrows from this one through a .pth file: no download) and runs from outside the tree."""
    import shutil
    import sysconfig

    src, dist = tmp_path / "src", tmp_path / "dist"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    for hook in ("build_wheel", "build_sdist"):  # one process each: setuptools keeps state between the two
        proc = subprocess.run([sys.executable, "-c", f"import sys; from setuptools import build_meta as b; "
                               f"b.{hook}(sys.argv[1])", str(dist)], cwd=src, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
    built = sorted(dist.iterdir())
    assert sorted(p.suffix for p in built) == [".gz", ".whl"], built
    kernel = tmp_path / "kernel"  # the verdicts kernel, a sibling distribution notbugs depends on
    proc = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                           "b.build_wheel(sys.argv[1])", str(kernel)], cwd=src / "verdicts", capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sdist = next(p for p in built if p.suffix == ".gz")
    shutil.unpack_archive(sdist, tmp_path / "unpacked")
    unpacked, from_sdist = next((tmp_path / "unpacked").iterdir()), tmp_path / "from-sdist"
    proc = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                           "b.build_wheel(sys.argv[1])", str(from_sdist)], cwd=unpacked, capture_output=True,
                          text=True, timeout=300)  # the sdist alone holds all a wheel needs
    assert proc.returncode == 0, proc.stderr[-2000:]
    for artefact in [p for p in built if p.suffix == ".whl"] + sorted(from_sdist.iterdir()):
        venv = tmp_path / f"venv-{artefact.parent.name}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        purelib = subprocess.run([str(venv / "bin" / "python"), "-c",
                                  "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        Path(purelib, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        proc = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index",
                               "--no-build-isolation", str(artefact), *map(str, kernel.iterdir())],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        run = subprocess.run([str(venv / "bin" / "notbugs"), "--version"], capture_output=True, text=True,
                             cwd=tmp_path)
        assert run.returncode == 0 and notbugs.__version__ in run.stdout, run.stderr[-1000:]
        where = subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import notbugs, notbugs.experiments.registry as r; "
                                "print(notbugs.__file__, len(r.REGISTRY))"], capture_output=True, text=True,
                               cwd=tmp_path)
        assert str(venv) in where.stdout and where.stdout.split()[-1] == str(len(REGISTRY)), where.stderr[-1000:]
