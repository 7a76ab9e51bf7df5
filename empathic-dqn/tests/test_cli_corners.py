"""The command line's corners as a new user meets them: a damaged checkpoint is one line and exit 2, and the help
reads as text (no reStructuredText, each default said once)."""

import re

import pytest

from empathic.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("emp")
    assert main(["train", "sharing", "--preset", "tiny", "--steps", "40", "--out", str(out)]) == 0
    return next((out / "runs").iterdir())


@pytest.mark.parametrize("damage", [lambda b: b[:len(b) // 2], lambda b: b"\x00" * 8 + b[8:], lambda b: b""])
def test_evaluating_a_damaged_checkpoint_is_one_line_and_exit_2(trained, tmp_path, damage, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    weights = run / "agent.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    capsys.readouterr()
    assert main(["evaluate", str(run), "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unreadable checkpoint" in err and "train it again" in err, err


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["reproduce"]])
def test_help_is_plain_text_with_each_default_said_once(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(command + ["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and "(default: None)" not in text and "(default: False)" not in text
    for entry in re.split(r"\n(?=  -)", text):  # one option with its wrapped help
        assert entry.count("(default:") <= 1, entry
