"""Every shared step kind's code matches the fingerprint recorded beside its version (notbugs/versions.py)."""

from notbugs import versions


def test_every_kinds_code_matches_its_recorded_fingerprint():
    assert versions.stale() == []  # else: raise the kind's version if the edit can change its numbers, and record


def test_an_edit_to_a_kinds_code_is_caught(monkeypatch):
    real = versions.code_text
    monkeypatch.setattr(versions, "code_text", lambda entry: real(entry) + ("\nx = 1" if entry == "train" else ""))
    stale = versions.stale()
    assert len(stale) == 1 and stale[0].startswith("model: code changed")
    assert f"raise its version to {versions.version('model') + 1}" in stale[0]


def test_comments_and_docstrings_are_not_code():
    assert versions.code_text("evaluate:predict") == versions.code_text("evaluate:predict")
    assert '"""' not in versions.code_text("evaluate:predict") and "#" not in versions.code_text("evaluate:predict")
