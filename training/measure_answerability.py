"""The answerability judge on a gold set, through the product's own retrieval and evidence stage:
its probability for each question, and what answers would score with it refusing below each
threshold, from a report of the same set run without it (`qa eval … --report`).

A question the judge lets through is answered as in that report (the judge runs before the model
and changes nothing else); one it stops is a refusal (right when the question is unanswerable).
So the curve needs no LLM: refusal recall against answerable questions refused, answer accuracy
and refusal precision at each threshold.

  .venv/bin/python training/measure_answerability.py --gold eval/natural.jsonl --index .qa/multihop-index \\
      --report eval/reports/natural.json [--judge training/runs/answerability_fold0] --out results/x.json
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the qa package of this checkout

THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 20)]


def judge_from(folder: Path | None):
    """The shipped judge, or one a training run saved (`folder`)."""
    from qa.judges import AnswerabilityJudge, answerability_judge, new_cross_encoder

    if folder is None:
        return answerability_judge()
    from safetensors.torch import load_file

    meta = json.loads((folder / "training.json").read_text())
    model, tokenizer = new_cross_encoder()
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return AnswerabilityJudge(int(meta["max_length"]), model.eval(), tokenizer, threading.Lock())


def probabilities(gold: Path, settings, judge) -> list[dict]:
    """Each question's judge probability (None when it never reaches the judge: an early refusal)."""
    import time

    from qa import pipeline
    from qa.answer import evidence_for, retrieve

    retriever = pipeline.retriever(settings)
    out = []
    for line in gold.read_text().splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        question = item["question"]
        analysis = retriever.analyse(question)
        passages = retrieve(question, settings=settings, retriever=retriever)
        if not passages or max(p.similarity for p in passages) < settings.min_similarity:
            out.append({"id": item["id"], "probability": None})
            continue
        evidence = evidence_for(question, analysis, passages, settings=settings, retriever=retriever)
        started = time.perf_counter()
        probability = judge.probability(question, [(e.score, e.text) for e in evidence]) if evidence else None
        out.append({"id": item["id"], "probability": probability, "seconds": time.perf_counter() - started})
    return out


def curve(judged: list[dict], report: dict) -> list[dict]:
    items = {i["id"]: i for i in report["items"]}
    judged = [j for j in judged if j["id"] in items]  # a report of a sample (`qa eval --sample`)
    rows = []
    for threshold in [0.0] + THRESHOLDS:
        correct, refused_unanswerable, refused_answerable = 0, 0, 0
        for j in judged:
            item = items[j["id"]]
            stopped = j["probability"] is not None and j["probability"] < threshold
            refused = stopped or item["refused"]
            correct += (not item["answerable"]) if stopped else bool(item["correct"])
            refused_unanswerable += refused and not item["answerable"]
            refused_answerable += refused and item["answerable"]
        unanswerable = sum(not items[j["id"]]["answerable"] for j in judged)
        answerable = len(judged) - unanswerable
        rows.append({"threshold": threshold, "answer_accuracy": round(correct / len(judged), 3),
                     "refusal_recall": round(refused_unanswerable / unanswerable, 3) if unanswerable else None,
                     "answerable_refused": round(refused_answerable / answerable, 3),
                     "refusal_precision": round(refused_unanswerable / max(1, refused_unanswerable + refused_answerable), 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True, help="the same set's eval report without the judge")
    parser.add_argument("--judge", type=Path, help="a training run's folder (default: the shipped judge)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from qa.config import load_settings

    settings = load_settings(index_dir=args.index)
    judged = probabilities(args.gold, settings, judge_from(args.judge))
    rows = curve(judged, json.loads(args.report.read_text()))
    seconds = sorted(j["seconds"] for j in judged if j["probability"] is not None)
    print(f"judge p50 {seconds[len(seconds) // 2] * 1000:.0f} ms")
    print("threshold  accuracy  refusal recall  answerable refused  refusal precision")
    for r in rows:
        print(f"{r['threshold']:>9}  {r['answer_accuracy']:>8}  {r['refusal_recall']!s:>14}  {r['answerable_refused']:>18}"
              f"  {r['refusal_precision']:>17}")
    if args.out:
        args.out.write_text(json.dumps({"judged": judged, "curve": rows}, indent=1))


if __name__ == "__main__":
    main()
