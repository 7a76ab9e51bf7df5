"""Synthetic worlds and the JSONL importer."""

import json

import pytest

from felab.data import jsonl, load, synthetic
from felab.domain import BadInput
from felab.text import sentences


def test_worlds_are_seeded_and_sized():
    a = synthetic.generate(12, seed=3)
    assert a == synthetic.generate(12, seed=3) and a != synthetic.generate(12, seed=4)
    assert sum(len(qs) for _, qs in a) == 12 and len(synthetic.generate(1000, seed=0, per_document=4)) == 250


def test_every_question_has_its_evidence_recorded():
    for doc, qs in synthetic.generate(30, seed=1):
        starts = {s for s, _ in sentences(doc.text)}
        for q in qs:
            assert q.correct_index in (0, 1) and len(q.support) == 2 and len(q.decoys) == len(q.refutations) == 1
            gold, wrong = q.options[q.correct_index], q.options[1 - q.correct_index]
            s2 = doc.text[slice(*q.support[1])]
            assert gold in s2 and wrong in doc.text[slice(*q.distractor_support[0])]
            decoy, refute = doc.text[slice(*q.decoys[0])], doc.text[slice(*q.refutations[0])]
            rival = q.subquestions[0].options[1]
            assert rival in decoy and rival in refute
            assert any(w in refute.split() for w in ("never", "not"))
            for span in (*q.support, *q.decoys, *q.refutations, *q.distractor_support):
                assert span[0] in starts  # whole sentences
            assert abs(q.decoys[0][0] - q.refutations[0][0]) > 0
            hop1 = q.subquestion(q.decomposition[0])
            assert hop1.options[hop1.correct_index] == q.subquestions[0].options[0]
            assert q.subquestion(q.decomposition[1].format(hop1.options[0])).options[0] == gold


def test_jsonl_round_trip(tmp_path):
    w = synthetic.generate(7, seed=2)
    jsonl.write(w, tmp_path / "w.jsonl")
    assert jsonl.read(tmp_path / "w.jsonl") == w
    assert load(str(tmp_path / "w.jsonl")) == w and load("synthetic:7:2") == w


GOOD = {"document": {"id": "d", "text": "Anna sailed to Brill. Ben stayed home."},
        "questions": [{"id": "q", "text": "Where did Anna sail?", "options": ["Brill", "Home"], "correct_index": 0,
                       "support": [[0, 21]]}]}


@pytest.mark.parametrize("edit,msg", [
    (lambda r: r.update(questions=[]), "has no questions"),
    (lambda r: r.pop("questions"), "has no questions"),
    (lambda r: r["document"].pop("text"), "missing 'text'"),
    (lambda r: r.pop("document"), "missing 'document'"),
    (lambda r: r["questions"][0].pop("options"), "missing 'options'"),
    (lambda r: r["questions"][0].update(options=["only one"]), "two non-empty strings"),
    (lambda r: r["questions"][0].update(correct_index=2), "correct_index must be 0, 1 or null"),
    (lambda r: r["questions"][0].update(support=[[0, 999]]), "outside the document"),
    (lambda r: r["document"].update(text="  "), "empty 'text'"),
])
def test_bad_jsonl_is_one_line_naming_file_and_line(tmp_path, edit, msg):
    rec = json.loads(json.dumps(GOOD))
    rec["document"]["id"], rec["questions"][0]["id"] = "d2", "q2"
    edit(rec)
    f = tmp_path / "mine.jsonl"
    f.write_text(json.dumps(GOOD) + "\n" + json.dumps(rec) + "\n")
    with pytest.raises(BadInput, match=msg) as e:
        jsonl.read(f)
    assert str(e.value).startswith(f"{f}:2") and "\n" not in str(e.value)


def test_jsonl_other_errors(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text("{not json\n")
    with pytest.raises(BadInput, match=":1: not JSON"):
        jsonl.read(f)
    f.write_text(json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n")
    with pytest.raises(BadInput, match="appears twice"):
        jsonl.read(f)
    f.write_text("\n")
    with pytest.raises(BadInput, match="holds no documents"):
        jsonl.read(f)
    with pytest.raises(BadInput, match="cannot read"):
        jsonl.read(tmp_path / "missing.jsonl")
    with pytest.raises(BadInput, match="synthetic:N"):
        load("synthetic:many")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(GOOD) + "\n")
    (doc, (q,)), = jsonl.read(good)
    assert q.document_id == "d" and q.support == ((0, 21),)
