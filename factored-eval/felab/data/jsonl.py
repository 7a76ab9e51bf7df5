"""A user's own documents and questions as JSON Lines: one document per line with its questions.

    {"document": {"id": "d1", "title": "...", "text": "...", "source": "...", "license": "..."},
     "questions": [{"id": "q1", "text": "...", "options": ["A", "B"], "correct_index": 0,
                    "support": [[10, 42]], "decoys": [], "refutations": []}]}

``correct_index`` may be null (no gold: accuracy is then undefined for that question); the span lists are
optional character spans into the text. Every error names the file and line and says what to fix, and the whole
file is checked before anything is used. ``write`` stores worlds in the same format (``felab gen-synthetic``).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..domain import BadInput, Document, Question
from ..files import write_atomic
from ..text import verify_span

World = tuple[Document, list[Question]]


def _need(d: dict, key: str, where: str, kind: str):
    if not isinstance(d, dict) or key not in d:
        raise BadInput(f"{where}: {kind} is missing '{key}'")
    return d[key]


def _question(d: dict, doc: Document, where: str) -> Question:
    qid = _need(d, "id", where, "a question")
    for k in ("text", "options"):
        _need(d, k, where, f"question {qid!r}")
    opts = d["options"]
    if not isinstance(opts, list) or len(opts) != 2 or not all(isinstance(o, str) and o.strip() for o in opts):
        raise BadInput(f"{where}: question {qid!r} needs 'options' as a list of two non-empty strings")
    try:
        q = Question.from_dict({**d, "document_id": doc.id})
    except (TypeError, ValueError) as e:
        raise BadInput(f"{where}: question {qid!r}: {e}") from None
    for k in ("support", "decoys", "refutations", "distractor_support"):
        for span in getattr(q, k):
            try:
                verify_span(doc.text, *span)
            except (BadInput, TypeError) as e:
                raise BadInput(f"{where}: question {qid!r}, {k}: {e}") from None
    return q


def read(path: str | Path) -> list[World]:
    """Documents and their questions from a JSONL file; ``BadInput`` (one line) on the first problem."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise BadInput(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text") from None
    out: list[World] = []
    seen_docs: set[str] = set()
    seen_qs: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInput(f"{where}: not JSON ({e.msg} at column {e.colno})") from None
        d = _need(rec, "document", where, "a line")
        for k in ("id", "text"):
            _need(d, k, where, "the document")
        if not isinstance(d["text"], str) or not d["text"].strip():
            raise BadInput(f"{where}: document {d['id']!r} has an empty 'text'")
        doc = Document(str(d["id"]), str(d.get("title", d["id"])), d["text"], str(d.get("source", "")),
                       str(d.get("license", "")))
        if doc.id in seen_docs:
            raise BadInput(f"{where}: document id {doc.id!r} appears twice; ids must be unique")
        qs = rec.get("questions")
        if not qs:
            raise BadInput(f"{where}: document {doc.id!r} has no questions; give it a non-empty 'questions' list")
        if not isinstance(qs, list):
            raise BadInput(f"{where}: 'questions' must be a list")
        questions = [_question(q, doc, where) for q in qs]
        for q in questions:
            if q.id in seen_qs:
                raise BadInput(f"{where}: question id {q.id!r} appears twice; ids must be unique")
            seen_qs.add(q.id)
        seen_docs.add(doc.id)
        out.append((doc, questions))
    if not out:
        raise BadInput(f"{path} holds no documents; see 'felab gen-synthetic' for the format")
    return out


def write(worlds: list[World], path: str | Path) -> None:
    """Worlds as JSONL, written to a temporary file and renamed into place (never half-written)."""
    lines = []
    for doc, qs in worlds:
        qd = []
        for q in qs:
            d = q.to_dict()
            d.pop("document_id")
            qd.append(d)
        lines.append(json.dumps({"document": doc.to_dict(), "questions": qd}, ensure_ascii=False) + "\n")
    write_atomic(path, "".join(lines))
