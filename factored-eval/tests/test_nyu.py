"""NYU's debate data: the importer on a hand-made room (always runs), and on the published data, where present
(``$FELAB_NYU_DATA``, else ../shared/data/nyu-debate beside the repository): the whole dataset round-trips and
the paper's numbers are reproduced exactly."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from felab.data import nyu
from felab.domain import BadInput

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FELAB_NYU_DATA") or REPO.parent / "shared" / "data" / "nyu-debate")
needs_data = pytest.mark.skipif(not (DATA / "debates" / "official").is_dir(),
                                reason=f"NYU's debate data is not at {DATA} (set FELAB_NYU_DATA to its folder)")

TOKENS = ["The", "-LRB-", "old", "-RRB-", "lighthouse", "was", "n't", "red", ".", "\n", "\n", "``", "Blue", "!",
          "''", "said", "Ann", ".", "", "It", "'s", "blue", "."]


def room(**changes) -> dict:
    """A small debate room in NYU's shape: judge prior, simultaneous speeches with quotes, a final judgment."""
    r = {"setup": {"rules": {"fixedOpening": [{"JudgeFeedbackRound": {"reportBeliefs": True, "charLimit": 750}}],
                             "repeatingStructure": [], "fixedClosing": None, "globalQuoteRestriction": None,
                             "scoringFunction": {"LogScoreWithLinearPenalty": {
                                 "baseCoefficient": 1.0, "constant": 0.0, "logBase": 2.0, "perTurnPenalty": 0.05}}},
                   "sourceMaterial": {"QuALITYSourceMaterial": {"articleId": "7", "title": "Lamp",
                                                                "contents": list(TOKENS)}},
                   "question": "What colour is the lighthouse?", "answers": ["Red", "Blue"], "correctAnswerIndex": 1,
                   "roles": {"Debater A": "Ann", "Debater B": "Bob", "Judge": "Jo"}, "offlineJudges": {},
                   "creationTime": 5},
         "rounds": [
             {"JudgeFeedback": {"distribution": [0.5, 0.5], "feedback": {"speaker": "Jo", "timestamp": 6,
                                                                         "content": []}, "endDebate": False}},
             {"SimultaneousSpeeches": {"speeches": {
                 "0": {"speaker": "Ann", "timestamp": 8, "content": [{"Text": {"text": "See "}},
                                                                     {"Quote": {"span": [4, 9]}}]},
                 "1": {"speaker": "Bob", "timestamp": 7, "content": [{"Quote": {"span": [11, 15]}},
                                                                     {"Text": {"text": " and "}},
                                                                     {"Quote": {"span": [19, 23]}}]}}}},
             {"NegotiateEnd": {"votes": {"0": True, "1": False}}},
             {"JudgeFeedback": {"distribution": [0.2, 0.8], "feedback": {"speaker": "Jo", "timestamp": 9, "content": [
                 {"Text": {"text": "B quotes more."}}]}, "endDebate": True}}],
         "feedback": {"Jo": {"Judge": {"answers": {"clarity": {"1": 3}}}}}, "scratchpads": {}}
    for k, v in changes.items():
        r[k] = v
    return r


def write(folder: Path, rooms: dict[str, dict], meta: list[dict] | None = None) -> Path:
    (folder / "debates" / "official").mkdir(parents=True)
    for name, r in rooms.items():
        (folder / "debates" / "official" / f"{name}.json").write_text(json.dumps(r))
    if meta is not None:
        (folder / "debates-metadata.jsonl").write_text("".join(json.dumps(m) + "\n" for m in meta))
    return folder


META = {"name": "lamp-0", "setting": {"isHuman": True, "isDebate": True}, "includedInPaper": True,
        "storyTitle": "Lamp", "question": "What colour is the lighthouse?",
        "sourceMaterialId": {"QuALITYStory": {"id": "7", "title": "Lamp"}},
        "status": {"Complete": {"result": {"judgingInfo": {"correctAnswerIndex": 1, "numContinues": 1,
                                                           "finalJudgement": [0.2, 0.8], "judgeReward": -0.37}}}}}


def test_tokens_render_with_offsets():
    text, spans = nyu.render_tokens(TOKENS)
    assert text == "The (old) lighthouse wasn't red.\n\n\"Blue!\" said Ann. It's blue."
    assert [text[b:e] for b, e in spans][:5] == ["The", "(", "old", ")", "lighthouse"]
    assert spans[18][0] == spans[18][1]  # the empty token takes no characters


def test_room_becomes_a_game_with_verified_quotes(tmp_path):
    data = nyu.load(write(tmp_path, {"lamp-0": room()}, [META]))
    (story,), (q,), (g,) = data.stories, data.questions, data.games
    assert story.document.license == "CC-BY-4.0" and "Michael" in story.document.source
    assert q.options == ("Red", "Blue") and q.correct_index == 1 and q.document_id == story.document.id
    assert [(s.role, s.agent, s.side, s.honest) for s in g.seats] == [
        ("judge", "Jo", None, None), ("expert0", "Ann", 0, False), ("expert1", "Bob", 1, True)]
    assert [(t.round, t.role, t.kind) for t in g.turns] == [
        (0, "judge", "judgment"), (1, "expert0", "speech"), (1, "expert1", "speech"), (3, "judge", "judgment")]
    ann, bob = g.turns[1].speech, g.turns[2].speech
    assert [s.text for s in ann.quotes] == ["lighthouse wasn't red."]
    assert [s.text for s in bob.quotes] == ['"Blue!"', "It's blue."]
    text = story.document.text
    assert all(s.verified and text[s.span[0]:s.span[1]] == s.text for s in ann.quotes + bob.quotes)
    assert g.outcome.probs == (0.2, 0.8) and g.outcome.end and g.outcome.explanation == "B quotes more."
    assert g.accepted == 1 and g.correct is True
    assert nyu.setting(g) == "human debate" and nyu.in_paper(g)


def test_export_writes_the_room_back(tmp_path):
    original = room()
    data = nyu.load(write(tmp_path / "in", {"lamp-0": original}, [META]))
    out = nyu.export_folder(data, tmp_path / "out")
    assert json.loads((out / "debates" / "official" / "lamp-0.json").read_text()) == original
    assert nyu.load(out) == data


def test_span_past_the_story_is_clipped_and_restored(tmp_path):
    r = room()
    r["rounds"][1]["SimultaneousSpeeches"]["speeches"]["1"]["content"][2] = {"Quote": {"span": [19, 25]}}
    data = nyu.load(write(tmp_path / "in", {"lamp-0": r}, [META]))
    (g,) = data.games
    assert g.turns[2].speech.quotes[-1].text == "It's blue."
    assert g.meta["nyu"]["span_repairs"] == [{"turn": 2, "segment": 2, "span": [19, 25]}]
    out = nyu.export_folder(data, tmp_path / "out")
    assert json.loads((out / "debates" / "official" / "lamp-0.json").read_text()) == r


def test_consultancy_seats_one_expert_on_its_side(tmp_path):
    r = room()
    r["setup"]["roles"] = {"Debater B": "Bob", "Judge": "Jo"}
    del r["rounds"][1]["SimultaneousSpeeches"]["speeches"]["0"]
    meta = dict(META, setting={"isHuman": False, "isDebate": False})
    (g,) = nyu.load(write(tmp_path, {"lamp-0": r}, [meta])).games
    assert g.protocol == nyu.CONSULTANCY_PROTOCOL and nyu.setting(g) == "AI consultancy"
    assert [(s.role, s.side, s.honest) for s in g.seats[1:]] == [("expert0", 1, True)]
    assert nyu.consultant_honest(g) is True


def test_rooms_without_metadata_have_unknown_setting(tmp_path):
    (g,) = nyu.load(write(tmp_path, {"lamp-0": room()})).games
    assert nyu.setting(g) is None and not nyu.in_paper(g)


@pytest.mark.parametrize("breakage, message", [
    (lambda r: r["rounds"][1]["SimultaneousSpeeches"]["speeches"]["0"]["content"].append(
        {"Quote": {"span": [30, 31]}}), "outside the story"),
    (lambda r: r["rounds"][1]["SimultaneousSpeeches"]["speeches"]["0"]["content"].append(
        {"Quote": {"span": [3, 3]}}), "not a token span"),
    (lambda r: r["setup"].update(answers=["only one"]), "two answers"),
    (lambda r: r["rounds"].append({"SimultaneousSpeeches": {"speeches": {"2": {
        "speaker": "X", "timestamp": 1, "content": []}}}}), "no seat"),
    (lambda r: r["setup"].pop("question"), "not a NYU debate room"),
])
def test_bad_rooms_are_refused_with_the_file_named(tmp_path, breakage, message):
    r = copy.deepcopy(room())
    breakage(r)
    with pytest.raises(BadInput, match=message) as e:
        nyu.load(write(tmp_path, {"lamp-0": r}))
    assert "lamp-0.json" in str(e.value) and "\n" not in str(e.value)


def test_bad_folders_are_refused(tmp_path):
    with pytest.raises(BadInput, match="not a folder"):
        nyu.load(tmp_path / "missing")
    with pytest.raises(BadInput, match="no debate rooms"):
        nyu.load(tmp_path)
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(BadInput, match="not JSON"):
        nyu.load(tmp_path)


def test_jsonl_round_trip_and_refusals(tmp_path):
    data = nyu.load(write(tmp_path / "in", {"lamp-0": room()}, [META]))
    path = nyu.write_jsonl(data, tmp_path / "nyu.jsonl")
    assert [json.loads(x)["kind"] for x in path.read_text().splitlines()] == ["document", "question", "game"]
    assert nyu.read_jsonl(path) == data
    lines = path.read_text().splitlines()
    doc = json.loads(lines[0])
    doc["text"] = doc["text"].replace("red", "RED")
    (tmp_path / "bad.jsonl").write_text(json.dumps(doc) + "\n")
    with pytest.raises(BadInput, match="not the rendering of its tokens"):
        nyu.read_jsonl(tmp_path / "bad.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"kind": "spell"}\n')
    with pytest.raises(BadInput, match="unknown record kind"):
        nyu.read_jsonl(tmp_path / "bad.jsonl")


def test_command_line_import_and_bad_path(tmp_path, capsys):
    from felab.cli import main

    folder = write(tmp_path / "in", {"lamp-0": room()}, [META])
    assert main(["import-nyu", str(folder), "--out", str(tmp_path / "nyu.jsonl")]) == 0
    assert nyu.read_jsonl(tmp_path / "nyu.jsonl") == nyu.load(folder)
    with pytest.raises(SystemExit) as e:
        main(["import-nyu", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.jsonl")])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "not a folder" in err
    assert not (tmp_path / "x.jsonl").exists()


def test_reproduce_judges_the_nyu_claims_when_given_the_data(tmp_path, capsys):
    """On data that are not NYU's published rooms the premise fails: every NYU claim is not testable."""
    from felab.cli import main

    folder = write(tmp_path / "in", {"lamp-0": room()}, [META])
    assert main(["reproduce", "--preset", "tiny", "--out", str(tmp_path / "run"), "--nyu", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.count("[not testable] nyu_") == 4
    saved = json.loads((tmp_path / "run" / "nyu-reanalysis.json").read_text())
    assert [c["verdict"] for c in saved["claims"]] == ["not testable"] * 4
    assert "human debate" in (tmp_path / "run" / "nyu-reanalysis.txt").read_text()


# ------------------------------------------------------------------------------------------ the published data


@pytest.fixture(scope="module")
def published():
    return nyu.load(DATA)


@pytest.mark.slow
@needs_data
def test_published_data_round_trips(published, tmp_path):
    out = nyu.export_folder(published, tmp_path / "out")
    official = DATA / "debates" / "official"
    differ = []
    for g in published.games:
        name = g.meta["nyu"]["room"]
        theirs = json.loads((official / f"{name}.json").read_text())
        theirs["scratchpads"] = {}  # the debaters' private notes are not imported
        if json.loads((out / "debates" / "official" / f"{name}.json").read_text()) != theirs:
            differ.append(name)
    assert differ == []
    assert nyu.load(out) == published


@needs_data
def test_published_counts(published):
    games = published.games
    paper = [g for g in games if nyu.in_paper(g)]
    assert len(games) == 631 and len(paper) == 413
    assert len({g.question.document_id for g in games}) == len(published.stories) == 100  # 95 stories, some twice
    assert len({published.story(g.document_id).document.title for g in games}) == 95
    assert len({(published.story(g.document_id).document.title, g.question.text) for g in paper}) == 247
    quotes = [s for g in games for t in g.turns if t.speech for s in t.speech.quotes]
    assert len(quotes) == 8331 and all(s.verified for s in quotes)


@needs_data
def test_the_papers_numbers_are_reproduced(published):
    from felab import reanalysis

    v = reanalysis.values(published)
    got = {s: (r["correct"], r["rooms"], round(r["judge_score"], 2)) for s, r in v["settings"].items()}
    assert got == {"human debate": (130, 154, -0.89), "human consultancy": (71, 96, -1.24),
                   "AI debate": (68, 87, -1.20), "AI consultancy": (61, 76, -1.16)}
    t = v["human_debate_vs_consultancy"]
    assert (round(t["z"], 2), round(t["p"], 3)) == (2.03, 0.043)
    assert v["honesty"] == {"human honest": [42, 48], "human dishonest": [29, 48], "AI honest": [28, 38],
                            "AI dishonest": [33, 38]}
    assert (v["rooms"], v["paper_rooms"], v["stories"]) == (631, 413, 95)
    hc = v["settings"]["human consultancy"]
    assert hc["ties"] == 1 and hc["accuracy_ties_half"] == pytest.approx(71.5 / 96)  # the lab counts a tie 1/2
    assert [round(x, 2) for x in v["settings"]["human debate"]["wilson"]] == [0.78, 0.89]  # the review's interval
    assert [r["verdict"].value for r in reanalysis.judge(published)] == ["holds"] * 4


@needs_data
def test_the_nyu_claims_can_fail(published):
    """One flipped final judgment breaks the count claim; a room fewer makes every claim not testable."""
    from dataclasses import replace

    from felab import reanalysis
    from felab.domain import Judgment

    i, g = next((i, g) for i, g in enumerate(published.games)
                if nyu.setting(g) == "human debate" and nyu.in_paper(g) and g.correct)
    flipped = g.with_(outcome=Judgment(g.outcome.probs[::-1]), accepted=1 - g.accepted)
    games = published.games[:i] + (flipped,) + published.games[i + 1:]
    verdicts = {r["id"]: r["verdict"].value for r in reanalysis.judge(replace(published, games=games))}
    assert verdicts["nyu_accuracy"] == "does not hold" and verdicts["nyu_consultancy_honesty"] == "holds"
    fewer = replace(published, games=published.games[:i] + published.games[i + 1:])
    assert {r["verdict"].value for r in reanalysis.judge(fewer)} == {"not testable"}
