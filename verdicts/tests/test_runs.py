"""The seeds grammar, whole run folders, and the one-line command-line error."""

import subprocess
import sys

import pytest

from verdicts import UsageError, atomic_folder, fail, parse_seeds


@pytest.mark.parametrize("text, seeds", [("0,1,2", [0, 1, 2]), ("0-4", [0, 1, 2, 3, 4]), ("0-2,7", [0, 1, 2, 7]),
                                         (" 3 , 1 ", [3, 1])])
def test_the_seeds_grammar(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "1,1", "-1", "0-x", "2,0-3"])
def test_bad_seeds_say_what_to_write(text):
    with pytest.raises(UsageError, match="e.g. 0,1,2 or 0-4"):
        parse_seeds(text)


def test_a_folder_appears_whole_or_not_at_all(tmp_path):
    final = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(final) as tmp:
            (tmp / "a.json").write_text("{}")
            raise KeyboardInterrupt  # interrupted halfway
    assert not final.exists() and list(tmp_path.iterdir()) == []
    with atomic_folder(final) as tmp:
        (tmp / "a.json").write_text("1")
        assert not final.exists()  # nothing at the final path until the block ends
    assert (final / "a.json").read_text() == "1"
    with atomic_folder(final) as tmp:  # a rerun replaces the old folder whole
        (tmp / "b.json").write_text("2")
    assert [p.name for p in final.iterdir()] == ["b.json"] and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_fail_is_one_line_on_stderr_and_exit_2():
    code = "from verdicts import fail; fail('bad --seeds:\\n use 0-4', prog='tool')"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2 and run.stdout == "" and run.stderr == "tool: error: bad --seeds: use 0-4\n"
    with pytest.raises(SystemExit) as exc:
        fail(UsageError("x"))
    assert exc.value.code == 2
