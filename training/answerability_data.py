"""Training data for the answerability judge (issue 27): questions with the evidence the product
chooses for them, labelled by whether that evidence supports an answer.

Every question goes through the product's own retrieval and evidence stage on the MultiHop index
(`qa.answer.retrieve`, `qa.answer.evidence_for`), so the judge learns on what it will read. Kinds:

  dev         the 601 MultiHop-RAG dev questions (fold from relevance.jsonl.gz). Answerable ones are
              positives when their evidence holds a gold fact (their evidence items are marked
              `gold`, so the trainer can also remove them: a negative); null queries are negatives.
  changed     dev wh-questions with one detail changed by a rule (a number, a name from another
              question, first/last, approved/rejected, …), evidence retrieved for the changed
              question: negatives. Yes/no questions are left alone: changing a detail of one makes
              its answer "No", still an answer.
  premise     the 1.5B's question pairs (premise_questions.py): the question its sentence answers
              (a positive when that sentence is in the evidence), and that question with a detail
              changed by the same rules ("changed", a negative of the same shape).
  premise_false  the 1.5B's own false-premise question, when it names a name or number the sentence
              lacks: a negative. Mostly "Why …?" questions, against answerable ones that mostly are
              not: a judge trained on them stopped answerable why-questions (see the model card), so
              the trainer leaves them out unless asked.
  synthetic   the relevance judge's InPars questions that were kept: positives when their sentence
              is in the evidence.

The trainer adds "another question's evidence" negatives itself. `eval/natural.jsonl` and
`eval/gold.jsonl` are never read. Writes data/answerability.jsonl.gz (`--part dev`, about 15 min on 2 cores) and
data/answerability_written.jsonl.gz (`--part written`, after premise_questions.py):

  nice -n 19 .venv/bin/python training/answerability_data.py --index .qa/multihop-index [--part written]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from relevance_data import FOLDS, _gzip_text, overlaps  # noqa: E402

SEED = 27
WH = re.compile(r"^(who|what|which|why|how|when|where)\b", re.IGNORECASE)
SWAPS = [("first", "last"), ("approved", "rejected"), ("increased", "decreased"), ("rise", "fall"),
         ("won", "lost"), ("higher", "lower"), ("more", "fewer"), ("launched", "cancelled"),
         ("positive", "negative"), ("supported", "opposed"), ("acquired", "sold"), ("hired", "fired"),
         ("agree", "disagree"), ("rose", "fell"), ("before", "after"), ("stopped", "continued"),
         ("beat", "lost to"), ("best", "worst"), ("men", "women")]
NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?(?: (?:million|billion|percent))?%?")
# A run of capitalised words, not in quotes (quoted names are outlets: the source rule handles those).
NAME = re.compile(r"(?<![\w'‘“\"])(?:[A-Z][a-z]+(?:[- ][A-Z][a-z]+)+)(?![\w'’”\"])")


def changed(question: str, names: list[str], outlets: set[str], rng: random.Random) -> str | None:
    """`question` with one detail changed by a rule (tried in a random order), or None."""
    rules = ["number", "name", "swap"]
    rng.shuffle(rules)
    for rule in rules:
        if rule == "number" and (found := list(NUMBER.finditer(question))):
            m = rng.choice(found)
            digits = re.sub(r"\D", "", m.group(0).split(".")[0]) or "1"
            value = int(digits)
            new = str(value + rng.choice([-3, -2, 2, 3])) if 1900 <= value <= 2100 else str(value * rng.choice([2, 3]) + 1)
            return question[:m.start()] + m.group(0).replace(digits[:len(digits)], new, 1) + question[m.end():]
        if rule == "name" and (found := [m for m in NAME.finditer(question)
                                         if m.start() > 0 and m.group(0).lower() not in outlets]):
            m = rng.choice(found)
            other = [n for n in names if n.lower() not in question.lower()]
            if other:
                return question[:m.start()] + rng.choice(other) + question[m.end():]
        if rule == "swap":
            for a, b in rng.sample(SWAPS, len(SWAPS)):
                for x, y in ((a, b), (b, a)):
                    if re.search(rf"\b{x}\b", question):
                        return re.sub(rf"\b{x}\b", y, question, count=1)
    return None


_DETAIL_WORD = re.compile(r"(?<!^)\b(?:[A-Z][A-Za-z-]+|\d[\d,.]*\d|\d)")


def new_details(question: str, known: str) -> set[str]:
    """Names and numbers of `question` (its first word aside) that `known` lacks: a changed detail.
    A question that only asks something new of the same details ("Why did …?") is not counted: the
    1.5B writes many of those, and their evidence often answers them."""
    have = known.lower()
    return {w for w in (m.group(0).removesuffix("'s").rstrip(",.") for m in _DETAIL_WORD.finditer(question))
            if w and w.lower() not in have}


def fold_of(key: str) -> int:
    return zlib.crc32(key.encode()) % FOLDS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path(".qa/multihop-index"))
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--part", choices=("dev", "written"), default="dev",
                        help="dev: the dev and changed questions (answerability.jsonl.gz); written: the premise "
                             "and synthetic ones (answerability_written.jsonl.gz)")
    parser.add_argument("--limit", type=int, help="only the first N dev questions (a smoke run)")
    args = parser.parse_args()

    from tqdm import tqdm

    from qa import pipeline
    from qa.answer import evidence_for, retrieve
    from qa.config import load_settings

    settings = load_settings(index_dir=args.index, evidence_judge=False)
    if not settings.manifest_path.exists():
        sys.exit(f"no index in {args.index}: build it with relevance_data.py or `qa ingest`")
    retriever = pipeline.retriever(settings)
    rng = random.Random(SEED)

    def evidence(question: str) -> tuple[float, list[dict]]:
        analysis = retriever.analyse(question)
        passages = retrieve(question, settings=settings, retriever=retriever)
        chosen = evidence_for(question, analysis, passages, settings=settings, retriever=retriever) if passages else []
        return (max((p.similarity for p in passages), default=0.0),
                [{"text": e.text, "score": round(e.score, 4), "doc_id": e.passage.doc_id,
                  "start": e.article_start, "end": e.article_end} for e in chosen])

    dev = [json.loads(line) for line in gzip.open(args.data / "relevance.jsonl.gz", "rt")][:args.limit]
    outlets = {o.lower() for q in dev for o in q["outlets"]}
    premises = [json.loads(line) for line in (args.data / "premises.jsonl").read_text().splitlines()]
    asked = [q["question"] for q in dev] + [p["answerable"] for p in premises if p["answerable"]]
    names = sorted({m.group(0) for q in asked for m in NAME.finditer(q)
                    if m.start() > 0 and m.group(0).lower() not in outlets})
    jobs = []  # (record without evidence, gold spans or None)
    for q in (dev if args.part == "dev" else []):
        spans = [(f["doc_id"], (f["start"], f["end"])) for f in q["facts"] if f["doc_id"]]
        jobs.append(({"id": q["id"], "kind": "dev", "fold": q["fold"], "type": q["type"], "question": q["question"],
                      "label": int(q["answerable"])}, spans if q["answerable"] else None))
        if q["answerable"] and WH.match(q["question"]) and (new := changed(q["question"], names, outlets, rng)):
            jobs.append(({"id": q["id"] + ":changed", "kind": "changed", "fold": q["fold"], "type": q["type"],
                          "question": new, "label": 0}, None))
    if args.part == "written":
        for p in premises:
            if not p["answerable"]:
                continue
            _, doc_id, start, end = p["sentence_id"].split(":")
            own = [(doc_id, (int(start), int(end)))]
            fold = fold_of(p["sentence_id"])
            jobs.append(({"id": p["sentence_id"] + ":true", "kind": "premise", "fold": fold, "type": "premise",
                          "question": p["answerable"], "label": 1}, own))
            if new := changed(p["answerable"], names, outlets, rng):
                jobs.append(({"id": p["sentence_id"] + ":changed", "kind": "changed", "fold": fold, "type": "premise",
                              "question": new, "label": 0}, None))
            if new_details(p["false_premise"], p["sentence"]):
                jobs.append(({"id": p["sentence_id"] + ":false", "kind": "premise_false", "fold": fold,
                              "type": "premise", "question": p["false_premise"], "label": 0}, None))
        for line in (args.data / "synthetic.jsonl").read_text().splitlines():
            s = json.loads(line)
            if s["kept"]:
                _, doc_id, start, end = s["sentence_id"].split(":")
                jobs.append(({"id": s["sentence_id"], "kind": "synthetic", "fold": fold_of(s["sentence_id"]),
                              "type": "synthetic", "question": s["question"], "label": 1},
                             [(doc_id, (int(start), int(end)))]))
    kept = 0
    name = "answerability.jsonl.gz" if args.part == "dev" else "answerability_written.jsonl.gz"
    with _gzip_text(args.data / name) as out:
        for record, spans in tqdm(jobs, desc="questions", unit="q"):
            similarity, items = evidence(record["question"])
            for item in items:
                item["gold"] = int(spans is not None and any(
                    d == item["doc_id"] and overlaps((item["start"], item["end"]), span) for d, span in spans))
            if record["label"] and not any(item["gold"] for item in items):
                continue  # an answerable question whose evidence missed the answer teaches nothing sure
            out.write(json.dumps({**record, "similarity": round(similarity, 4), "evidence": items},
                                 ensure_ascii=False) + "\n")
            kept += 1
    print(f"{kept} of {len(jobs)} questions kept", file=sys.stderr)


if __name__ == "__main__":
    main()
