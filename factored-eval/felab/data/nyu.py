"""NYU's debate dataset (Michael et al. 2023, "Debate Helps Supervise Unreliable Experts", julianmichael/debate,
branch 2023-nyu-experiments, folder pub/; CC-BY 4.0) read into the lab's records, and written back.

Any folder laid out as NYU published it works: ``debates-metadata.jsonl`` (or ``.json``) beside
``debates/official/*.json``; a folder of room files alone also works (then the paper flag and setting are unknown,
``None``). Only JSON is read; nothing in the data is executed.

What becomes what:
- a story (QuALITY, CoreNLP tokens) -> a ``Document`` whose text is the tokens rendered with the lab's spacing
  convention (``render_tokens``); each token keeps its character span, so NYU's token spans become character spans.
  The same QuALITY story was tokenised two ways in NYU's data (early rooms hold sentence-sized tokens), so a
  document is one token list: its id is the QuALITY id plus a hash of the tokens.
- the question, its two answers and the correct index -> a ``Question`` (one per document and question text);
- debaters A and B -> seats ``expert0`` (side 0) and ``expert1`` (side 1); a consultancy's single consultant is
  ``expert0`` with the side it argued, ``honest`` when that side is correct (the lab's consultancy convention);
- judge feedback rounds -> ``judgment`` turns (the distribution in answer order, ``endDebate``, the feedback
  text); speeches -> ``speech`` turns whose quote segments are NYU's token spans as character spans, verified
  by construction (``felab.text.verify_span``); ``Turn.round`` is the index of the round in NYU's list;
- the last judgment of a finished room is the game's ``outcome``; ``accepted`` is the option it favours (None on
  a 50/50 tie).
``Game.meta["nyu"]`` keeps what the lab's records do not model, as data: the room's name, ``included_in_paper``,
``setting`` (``human``: people or GPT-4 debaters; ``debate``: two debaters or one consultant), the room's status,
NYU's rules, per-turn speakers and timestamps, offline judges' rounds, negotiate-end votes, the feedback surveys,
creation time, and any repaired quote span. So ``export_room`` writes a room back that equals NYU's file in every
field but the debaters' private scratchpads, which the lab does not import. ``write_jsonl`` / ``read_jsonl`` keep
an import as the lab's JSONL (``felab import-nyu``); the paper's numbers are re-computed in ``felab.reanalysis``.

Departures, stated: one quote span in the data (a-pail-of-air-7, [6926, 6929) in a 6,927-token story) ends past
its story; it is imported clipped to the story (NYU's own renderer shows what exists) and the original span is
kept in ``meta["nyu"]["span_repairs"]`` so the export restores it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..domain import BadInput, Document, Game, Judgment, Question, Seat, Segment, Speech, Turn
from ..files import write_atomic
from ..text import verify_span

LICENSE = "CC-BY-4.0"
ATTRIBUTION = ("Michael, Mahdi, Rein, Petty, Dirani, Padmakumar, Bowman, 'Debate Helps Supervise Unreliable "
               "Experts' (2023), julianmichael/debate, CC-BY 4.0; stories: QuALITY / Project Gutenberg")
DEBATE_PROTOCOL = "nyu_debate"  # the closest presets; NYU's exact rules stay in meta["nyu"]["rules"]
CONSULTANCY_PROTOCOL = "consultancy"
_DEBATERS = ("Debater A", "Debater B")

# CoreNLP's escapes and quote tokens, shown as the characters they stand for
_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}",
            "``": '"', "''": '"', "`": "'"}
_NO_SPACE_BEFORE = {".", ",", ";", ":", "!", "?", "...", ")", "]", "}", "-RRB-", "-RSB-", "-RCB-", "''", "%", "n't"}
_NO_SPACE_AFTER = {"(", "[", "{", "``", "`", "$", "-LRB-", "-LSB-", "-LCB-"}


@dataclass(frozen=True)
class Story:
    """A NYU story: its document and its tokens, each token's character span in ``document.text``."""

    document: Document
    tokens: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]

    def char_span(self, begin: int, end: int) -> tuple[int, int]:
        """NYU's token span [begin, end) as a character span (from the first token's start to the last's end)."""
        return self.spans[begin][0], self.spans[end - 1][1]

    def token_span(self, begin: int, end: int) -> tuple[int, int]:
        """The inverse of ``char_span`` for spans that start and end on non-empty tokens (every quote in NYU's
        data does; an empty token shares its offset with its neighbour)."""
        return self._starts[begin], self._ends[end] + 1

    @cached_property
    def _starts(self) -> dict[int, int]:
        """Character offset -> the first non-empty token starting there."""
        out: dict[int, int] = {}
        for i, (b, e) in enumerate(self.spans):
            if e > b:
                out.setdefault(b, i)
        return out

    @cached_property
    def _ends(self) -> dict[int, int]:
        """Character offset -> the last non-empty token ending there."""
        return {e: i for i, (b, e) in enumerate(self.spans) if e > b}


def render_tokens(tokens) -> tuple[str, tuple[tuple[int, int], ...]]:
    """CoreNLP tokens as readable text, with each token's character span. Our convention: one space between
    tokens, none at a line start, around a newline token, before closing punctuation and clitics ('s, n't) or
    after opening brackets and quotes; CoreNLP escapes (-LRB-, ``, '') shown as the characters they stand for.
    Tokens that carry their own spaces (NYU's early sentence-sized tokens) are kept as they are."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    at = 0
    prev = None
    for tok in tokens:
        if not isinstance(tok, str):
            raise BadInput(f"a story's tokens must be strings, got {type(tok).__name__}")
        shown = _ESCAPES.get(tok, tok)
        if prev is not None and _space_between(prev, tok):
            parts.append(" ")
            at += 1
        parts.append(shown)
        spans.append((at, at + len(shown)))
        at += len(shown)
        if tok != "":
            prev = tok
    return "".join(parts), tuple(spans)


def _space_between(prev: str, tok: str) -> bool:
    if tok == "" or prev == "\n" or tok == "\n" or prev[-1:].isspace() or tok[:1].isspace():
        return False
    if tok in _NO_SPACE_BEFORE or (tok.startswith("'") and tok != "'" and tok[1:].isalpha() and len(tok) <= 3):
        return False
    return prev not in _NO_SPACE_AFTER


def story_id(article_id: str, tokens) -> str:
    """A story's document id: its QuALITY id and a hash of its tokens (NYU tokenised some stories twice)."""
    if not all(isinstance(t, str) for t in tokens):
        raise BadInput("a story's tokens must be strings")
    return f"quality-{article_id}-" + hashlib.sha256("\x00".join(tokens).encode()).hexdigest()[:8]


def make_story(article_id: str, title: str, tokens) -> Story:
    tokens = tuple(tokens)
    text, spans = render_tokens(tokens)
    doc = Document(story_id(article_id, tokens), title, text,
                   source=f"QuALITY article {article_id} as tokenised in NYU's debate data ({ATTRIBUTION})",
                   license=LICENSE)
    return Story(doc, tokens, spans)


@dataclass(frozen=True)
class NyuData:
    """An imported dataset: stories (documents with their tokens), questions, games (one per room)."""

    stories: tuple[Story, ...]
    questions: tuple[Question, ...]
    games: tuple[Game, ...]

    @property
    def documents(self) -> tuple[Document, ...]:
        return tuple(s.document for s in self.stories)

    def story(self, document_id: str) -> Story:
        for s in self.stories:
            if s.document.id == document_id:
                return s
        raise KeyError(document_id)


# ---------------------------------------------------------------------------------------------------- reading


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise BadInput(f"{path}: not JSON ({e.msg} at line {e.lineno}); expected NYU's debate data") from None
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})") from None


def read_metadata(folder: Path) -> dict[str, dict]:
    """NYU's room metadata by room name ({} when the folder has none)."""
    jl, js = folder / "debates-metadata.jsonl", folder / "debates-metadata.json"
    rows: list = []
    if jl.is_file():
        with open(jl, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise BadInput(f"{jl}:{n}: not JSON ({e.msg}); expected one room's metadata per line") \
                            from None
    elif js.is_file():
        rows = _read_json(js)
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("name"), str) for r in rows):
        raise BadInput(f"{folder}: the debates metadata must be a list of objects with a 'name'")
    return {r["name"]: r for r in rows}


def room_files(folder: Path) -> list[Path]:
    """The room files of a dataset folder (debates/official/*.json, or *.json directly in the folder)."""
    for d in (folder / "debates" / "official", folder):
        files = sorted(p for p in d.glob("*.json") if not p.name.startswith("debates-metadata"))
        if files:
            return files
    return []


def load(path, only_paper: bool = False) -> NyuData:
    """Import NYU's dataset from the folder ``path``. ``only_paper`` keeps the rooms marked ``includedInPaper``."""
    folder = Path(path)
    if not folder.is_dir():
        raise BadInput(f"{folder}: not a folder; give the folder holding debates-metadata.jsonl and debates/")
    files = room_files(folder)
    if not files:
        raise BadInput(f"{folder}: no debate rooms (debates/official/*.json); is this NYU's pub/ folder?")
    meta = read_metadata(folder)
    stories: dict[str, Story] = {}
    questions: dict[str, Question] = {}
    games = []
    for p in files:
        row = meta.get(p.stem)
        if only_paper and not (row and row.get("includedInPaper")):
            continue
        room = _read_json(p)
        try:
            game, story = room_to_game(p.stem, room, row, stories)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            if isinstance(e, BadInput):
                raise BadInput(f"{p}: {e}") from None
            raise BadInput(f"{p}: not a NYU debate room ({type(e).__name__}: {e})") from None
        stories.setdefault(story.document.id, story)
        questions.setdefault(game.question.id, game.question)
        games.append(game)
    return NyuData(tuple(stories.values()), tuple(questions.values()), tuple(games))


def _question(story: Story, setup: dict) -> Question:
    answers = setup["answers"]
    if not (isinstance(answers, list) and len(answers) == 2 and all(isinstance(a, str) for a in answers)):
        raise BadInput("a room needs exactly two answers")
    key = json.dumps([story.document.id, setup["question"], answers])
    qid = "nyu-q-" + hashlib.sha256(key.encode()).hexdigest()[:12]
    return Question(qid, story.document.id, setup["question"], tuple(answers), setup["correctAnswerIndex"])


def room_to_game(name: str, room: dict, row: dict | None, stories: dict[str, Story] | None = None):
    """One NYU room (a parsed debates/official/NAME.json) and its metadata row as a ``Game`` and its ``Story``
    (reusing an equal story from ``stories``)."""
    setup = room["setup"]
    sm = setup["sourceMaterial"]["QuALITYSourceMaterial"]
    known = (stories or {}).get(story_id(str(sm["articleId"]), sm["contents"]))
    story = known or make_story(str(sm["articleId"]), sm["title"], sm["contents"])
    question = _question(story, setup)
    roles = setup["roles"]
    debaters = [i for i, r in enumerate(_DEBATERS) if r in roles]
    is_debate = len(debaters) == 2
    seats = [Seat("judge", roles["Judge"])] if "Judge" in roles else []
    c = question.correct_index
    for k, side in enumerate(debaters):
        seats.append(Seat(f"expert{k}", roles[_DEBATERS[side]], side, None if c is None else side == c))
    role_of = {s.side: s.role for s in seats if s.role != "judge"}

    turns: list[Turn] = []
    who: list[list] = []  # per turn: speaker and timestamp, as NYU stored them
    other: dict[str, dict] = {}  # rounds the lab does not model (offline judges, negotiate-end votes)
    repairs: list[dict] = []
    for r, rnd in enumerate(room["rounds"]):
        (kind, body), = rnd.items()
        if kind == "JudgeFeedback":
            fb = body["feedback"]
            turns.append(Turn(r, "judge", "judgment", judgment=_judgment(body)))
            who.append([fb["speaker"], fb["timestamp"], _content_shape(fb["content"])])
        elif kind in ("SimultaneousSpeeches", "SequentialSpeeches"):
            for key, sp in body["speeches"].items():
                side = int(key)
                if side not in role_of:
                    raise BadInput(f"round {r}: a speech by debater {key}, who has no seat in the room")
                segs = tuple(_segment(story, seg, r, len(turns), j, repairs) for j, seg in enumerate(sp["content"]))
                turns.append(Turn(r, role_of[side], "speech", speech=Speech(segs, answer=question.options[side])))
                who.append([sp["speaker"], sp["timestamp"], kind])
        else:
            other[str(r)] = rnd

    status = (row or {}).get("status") or {}
    state = next(iter(status), None)
    finished = [t.judgment for t in turns if t.judgment is not None and t.judgment.end]
    outcome = finished[-1] if finished and "Judge" in roles else None
    accepted = None
    if outcome is not None and outcome.probs[0] != outcome.probs[1]:
        accepted = int(outcome.probs[1] > outcome.probs[0])
    setting = row.get("setting") if row else None
    nyu = {
        "room": name,
        "included_in_paper": row.get("includedInPaper") if row else None,
        "setting": {"human": setting["isHuman"], "debate": setting["isDebate"]} if setting else None,
        "status": state,
        "rules": setup["rules"],
        "turns": who,
        "other_rounds": other,
        "offline_judges": setup.get("offlineJudges", {}),
        "surveys": room.get("feedback", {}),
        "creation_time": setup.get("creationTime"),
        "article_id": str(sm["articleId"]),
    }
    if repairs:
        nyu["span_repairs"] = repairs
    if row:
        nyu["metadata"] = {k: row[k] for k in ("storyTitle", "sourceMaterialId", "question") if k in row}
        ji = (status.get("Complete", {}).get("result") or {}).get("judgingInfo") if state == "Complete" else None
        if ji:
            nyu["judging_info"] = ji
        if setting and setting["isDebate"] != is_debate:
            raise BadInput(f"the metadata calls room {name} a {'debate' if setting['isDebate'] else 'consultancy'}"
                           f" but it seats {len(debaters)} debater(s)")
    game = Game(f"nyu-{name}", DEBATE_PROTOCOL if is_debate else CONSULTANCY_PROTOCOL, question, tuple(seats),
                turns=tuple(turns), outcome=outcome, accepted=accepted, meta={"nyu": nyu, "source": "nyu-debate",
                                                                                "license": LICENSE})
    return game, story


def _judgment(body: dict) -> Judgment:
    probs = body["distribution"]
    if not (isinstance(probs, list) and len(probs) == 2):
        raise BadInput("a judge's distribution must give two probabilities")
    text = "".join(seg["Text"]["text"] for seg in body["feedback"]["content"] if "Text" in seg)
    return Judgment((float(probs[0]), float(probs[1])), bool(body["endDebate"]), text)


def _content_shape(content: list) -> str:
    """How NYU stored a feedback's text: no segment ('none') or one text segment ('text')."""
    if not content:
        return "none"
    if len(content) == 1 and "Text" in content[0]:
        return "text"
    raise BadInput("judge feedback holds something other than one text segment")


def _segment(story: Story, seg: dict, r: int, turn: int, j: int, repairs: list) -> Segment:
    (kind, body), = seg.items()
    if kind == "Text":
        return Segment(body["text"])
    if kind != "Quote":
        raise BadInput(f"round {r}: unknown speech segment {kind!r}")
    b, e = body["span"]
    n = len(story.tokens)
    if not (isinstance(b, int) and isinstance(e, int)) or not 0 <= b < e:
        raise BadInput(f"round {r}: quote span {body['span']} is not a token span")
    if e > n:
        if b >= n:
            raise BadInput(f"round {r}: quote span [{b}, {e}) lies outside the story's {n} tokens")
        repairs.append({"turn": turn, "segment": j, "span": [b, e]})
        e = n
    cb, ce = story.char_span(b, e)
    return verify_span(story.document.text, cb, ce)


# ---------------------------------------------------------------------------------------------------- writing


def export_room(game: Game, story: Story) -> tuple[dict, dict]:
    """A game imported from NYU written back in NYU's shape: the room (debates/official/NAME.json) and its
    metadata row (the fields the lab reads). Only games that carry ``meta["nyu"]`` can be exported."""
    nyu = game.meta.get("nyu")
    if not nyu:
        raise BadInput(f"game {game.id} was not imported from NYU's data; only those can be exported to it")
    q = game.question
    roles = {}
    for s in game.seats:
        roles["Judge" if s.role == "judge" else _DEBATERS[s.side]] = s.agent
    rounds: list[tuple[int, dict]] = [(int(k), v) for k, v in nyu["other_rounds"].items()]
    repairs = {(x["turn"], x["segment"]): x["span"] for x in nyu.get("span_repairs", ())}
    side_of = {s.role: s.side for s in game.seats if s.role != "judge"}
    speeches: dict[int, tuple[str, dict]] = {}
    for i, (t, (speaker, stamp, shape)) in enumerate(zip(game.turns, nyu["turns"])):
        if t.kind == "judgment":
            j = t.judgment
            content = [] if shape == "none" else [{"Text": {"text": j.explanation}}]
            rounds.append((t.round, {"JudgeFeedback": {"distribution": list(j.probs), "feedback": {
                "speaker": speaker, "timestamp": stamp, "content": content}, "endDebate": j.end}}))
        else:
            kind, body = speeches.setdefault(t.round, (shape, {}))
            content = []
            for k, seg in enumerate(t.speech.segments):
                if seg.quote:
                    span = repairs.get((i, k)) or list(story.token_span(*seg.span))
                    content.append({"Quote": {"span": span}})
                else:
                    content.append({"Text": {"text": seg.text}})
            body[str(side_of[t.role])] = {"speaker": speaker, "timestamp": stamp, "content": content}
    for r, (kind, body) in speeches.items():
        rounds.append((r, {kind: {"speeches": body}}))
    rounds.sort(key=lambda x: x[0])
    setup = {"rules": nyu["rules"],
             "sourceMaterial": {"QuALITYSourceMaterial": {"articleId": nyu["article_id"], "title": story.document.title,
                                                          "contents": list(story.tokens)}},
             "question": q.text, "answers": list(q.options), "correctAnswerIndex": q.correct_index, "roles": roles,
             "offlineJudges": nyu["offline_judges"], "creationTime": nyu["creation_time"]}
    room = {"setup": setup, "rounds": [r for _, r in rounds], "feedback": nyu["surveys"], "scratchpads": {}}
    row = {"name": nyu["room"], **nyu.get("metadata", {}), "includedInPaper": nyu["included_in_paper"]}
    if nyu["setting"] is not None:
        row["setting"] = {"isHuman": nyu["setting"]["human"], "isDebate": nyu["setting"]["debate"]}
    if nyu["status"] is not None:
        row["status"] = {nyu["status"]: ({"result": {"judgingInfo": nyu["judging_info"]}}
                                         if "judging_info" in nyu else {})}
    return room, row


def export_folder(data: NyuData, out) -> Path:
    """Write ``data`` as a NYU dataset folder (debates-metadata.jsonl and debates/official/*.json)."""
    out = Path(out)
    official = out / "debates" / "official"
    official.mkdir(parents=True, exist_ok=True)
    rows = []
    for g in data.games:
        room, row = export_room(g, data.story(g.document_id))
        (official / f"{row['name']}.json").write_text(json.dumps(room, ensure_ascii=False), encoding="utf-8")
        rows.append(row)
    with open(out / "debates-metadata.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


# ---------------------------------------------------------------------------------------------- felab's JSONL


def write_jsonl(data: NyuData, out) -> Path:
    """The lab's own JSONL: one record a line, ``{"kind": "document" | "question" | "game", ...}``, documents
    first, each with the NYU tokens it was rendered from (so ``export_room`` can write NYU's files back). The
    file appears whole or not at all (``felab.files.write_atomic``)."""
    lines = [json.dumps({"kind": "document", **s.document.to_dict(), "tokens": list(s.tokens)}, ensure_ascii=False)
             for s in data.stories]
    lines += [json.dumps({"kind": "question", **q.to_dict()}, ensure_ascii=False) for q in data.questions]
    lines += [json.dumps({"kind": "game", **g.to_dict()}, ensure_ascii=False) for g in data.games]
    return write_atomic(out, "".join(line + "\n" for line in lines))


def read_jsonl(path) -> NyuData:
    """Read back what ``write_jsonl`` wrote (JSON only). A document's text must be its tokens' rendering."""
    path = Path(path)
    stories, questions, games = [], [], []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise BadInput(f"{path}: cannot read ({e.strerror})") from None
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                kind = rec.pop("kind")
            except (json.JSONDecodeError, AttributeError, KeyError):
                raise BadInput(f"{path}:{n}: not a felab record (a JSON object with a 'kind')") from None
            if kind == "document":
                tokens = rec.pop("tokens", None)
                doc = Document.from_dict(rec)
                if tokens is None:
                    raise BadInput(f"{path}:{n}: document {doc.id} has no NYU tokens; was it written by import-nyu?")
                text, spans = render_tokens(tokens)
                if text != doc.text:
                    raise BadInput(f"{path}:{n}: document {doc.id}'s text is not the rendering of its tokens")
                stories.append(Story(doc, tuple(tokens), spans))
            elif kind == "question":
                questions.append(Question.from_dict(rec))
            elif kind == "game":
                games.append(Game.from_dict(rec))
            else:
                raise BadInput(f"{path}:{n}: unknown record kind {kind!r} (document, question or game)")
    return NyuData(tuple(stories), tuple(questions), tuple(games))


# ------------------------------------------------------------------------------------------ the paper's rooms


SETTINGS = ("human debate", "human consultancy", "AI debate", "AI consultancy")


def setting(game: Game) -> str | None:
    """The paper's setting of an imported room ('human debate', ..., 'AI consultancy'); None without metadata."""
    s = game.meta.get("nyu", {}).get("setting")
    if s is None:
        return None
    return ("human" if s["human"] else "AI") + (" debate" if s["debate"] else " consultancy")


def in_paper(game: Game) -> bool:
    return bool(game.meta.get("nyu", {}).get("included_in_paper"))


def consultant_honest(game: Game) -> bool | None:
    """Whether a consultancy's consultant argued the correct answer (None for a debate)."""
    experts = [s for s in game.seats if s.role != "judge"]
    return experts[0].honest if len(experts) == 1 else None
