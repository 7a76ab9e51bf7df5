"""The code in the store's keys: each shared kind's code is what its roots reach, and its recorded fingerprint
matches it (notbugs/store/versions.py)."""

import ast
import textwrap

import pytest

from notbugs.store import versions


def test_every_kinds_code_matches_its_recorded_fingerprint():
    assert versions.stale() == []  # else: raise the kind's version if the edit can change its numbers, and record


def _edited(monkeypatch, relative: str, edit):
    """Make the versions module read ``relative`` (a file of the package) as ``edit(source)``."""
    real = versions._module_tree
    target = versions.PACKAGE / relative

    def tree(path):
        if path == target:
            return versions._strip_docstrings(ast.parse(edit(path.read_text())))
        return real(path)
    monkeypatch.setattr(versions, "_module_tree", tree)
    _clear()


def _clear():
    for cache in (versions._module, versions.kind_code, versions._code_key, versions._classes, versions._selves):
        cache.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    _clear()


def test_an_edit_to_code_a_kind_reaches_is_caught(monkeypatch):
    """methods/train.py is named by no kind: the model kind reaches it through Lab.train -> train_model -> train."""
    _edited(monkeypatch, "methods/train.py", lambda s: s.replace("return 1.0 if progress < 0.5 else 0.1",
                                                                 "return 1.0 if progress < 0.5 else 0.2", 1))
    stale = versions.stale()
    assert any(line.startswith("model: code changed") for line in stale)
    assert f"raise its version to {versions.version('model') + 1}" in "\n".join(stale)


def test_what_the_hand_written_lists_missed_is_reached():
    """The kinds' code lists of 0.3.0 left these out, so an edit to them kept stale numbers."""
    assert "evaluation.evaluate:agreement" in versions.kind_code("leakage")
    assert "frame.lab:Lab.constructed" in versions.kind_code("model")  # builds every fresh model's training data
    assert {"methods.tasks:model_and_data", "methods.tasks:model_for",
            "evaluation.evaluate:accuracy"} <= versions.kind_code("import").keys()


@pytest.mark.slow
def test_rewording_a_store_message_or_an_annotation_changes_no_key(monkeypatch):
    from notbugs.experiments import paper

    before = {k: versions.fingerprint(k) for k in versions.STEPS}, versions.code_key(paper.EXPERIMENT.run)
    _edited(monkeypatch, "store/pipeline.py", lambda s: s.replace("without declaring it as an input",
                                                                  "without saying so", 1))
    assert ({k: versions.fingerprint(k) for k in versions.STEPS}, versions.code_key(paper.EXPERIMENT.run)) == before
    # the lab's methods are annotated with the store's types (Build, Artifact): annotations are not calls
    _edited(monkeypatch, "frame/training.py", lambda s: s.replace("def make(b: Build):", "def make(b: 'Artifact'):"))
    assert {k: versions.fingerprint(k) for k in versions.STEPS} == before[0]


def test_a_measurement_is_keyed_by_the_kinds_it_reaches_only():
    from notbugs.experiments import stress, theory

    assert versions.code_key(theory.measured)["shared"] == {}  # the Gaussian model: no shared kind's code
    assert "eval" in versions.code_key(stress.curve)["shared"]  # it attacks: the attacks are eval's code


@pytest.fixture()
def toy_package(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "b.py").write_text(textwrap.dedent('''
        class Helper:
            def method(self):
                return 1

            def other(self):
                return 2

        def used(x):
            return x

        def only_annotated():
            return 3
    '''))
    (tmp_path / "pkg" / "a.py").write_text(textwrap.dedent('''
        from .b import Helper, only_annotated, used

        class Lab:
            def root(self, helper: Helper) -> only_annotated:
                self.inner()
                return helper.method() + used(1)

            def inner(self):
                return 2

            def never(self):
                return 3

        def section(x):
            return f"<p>{x}</p>"
    '''))
    (tmp_path / "pkg" / "parts.py").write_text(textwrap.dedent('''
        class Part:
            def root(self):
                return self.helper()

        class Other:
            def helper(self):
                return 4

            def unused(self):
                return 5
    '''))
    (tmp_path / "pkg" / "whole.py").write_text(textwrap.dedent('''
        from .parts import Other, Part

        class Whole(Part, Other):
            pass
    '''))
    monkeypatch.setattr(versions, "PACKAGE", tmp_path / "pkg")
    _clear()
    yield tmp_path / "pkg"
    _clear()


def test_reach_follows_calls_self_and_annotated_arguments_but_not_annotations(toy_package):
    code, _ = versions.reach(["a:Lab.root"])
    # with each class's fields (a method reads them): Lab's none, Helper's none
    assert set(code) == {"a:Lab.root", "a:Lab.inner", "b:Helper.method", "b:used", "a:Lab.__fields__",
                         "b:Helper.__fields__"}


def test_reach_follows_self_into_the_other_parts_of_a_class(toy_package):
    """A method of one part of a class (Lab's Training) reaches another part's method (Lab.model) through self:
    missing it would leave that code out of the step's key without a word."""
    code, _ = versions.reach(["parts:Part.root"])
    assert "parts:Other.helper" in code and "parts:Other.unused" not in code


def test_a_fingerprint_follows_computation_not_presentation(toy_package):
    """Editing what the root reaches changes its digest; editing a report section it never calls does not."""
    def digest():
        _clear()
        versions._module_tree.cache_clear()
        return versions._digest(versions.reach(["a:Lab.root"])[0])

    first = digest()
    a, b = toy_package / "a.py", toy_package / "b.py"
    a.write_text(a.read_text().replace("<p>", "<div>"))
    assert digest() == first
    b.write_text(b.read_text().replace("return x", "return x + 1"))
    assert digest() != first


def test_reach_stops_at_another_kinds_root(toy_package):
    code, kinds = versions.reach(["a:Lab.root"], {("b", "used"): "other"})
    assert kinds == {"other"} and "b:used" not in code


def test_a_changed_default_of_a_config_is_code_of_the_kinds_that_read_it(monkeypatch):
    _edited(monkeypatch, "methods/train.py", lambda s: s.replace("batch_size: int = 128", "batch_size: int = 64", 1))
    assert any(line.startswith("model: code changed") for line in versions.stale())
