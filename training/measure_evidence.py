"""Gold evidence in what the model reads, against word pieces read: the curve for the evidence chooser and the judge.

For each budget, `context_evidence_recall` (the share of a question's gold facts inside the chosen
sentences, `qa.evaluate.context_scores`, mean over answerable dev questions) and the median word
pieces chosen (`context_tokens_p50`, counted as `qa eval` counts them).

  --live      the product as it is: `qa eval`'s search and `qa.evidence.select` with
              context_tokens set to each budget (needs the MultiHop index; every fold)
  (default)   offline, from the committed data: the chooser's stored scores, or with `--scores`
              the judge's out-of-fold scores (`train_judge.py` writes them), the sentences taken
              best first while the budget lasts, a sentence that leans on the one before it
              bringing that one along (the product's rule, without its per-article and per-outlet
              picks); `--thresholds` also traces the judge's cut-off by score instead of a budget.

  nice -n 19 .venv/bin/python training/measure_evidence.py --live --index .qa/multihop-index
  nice -n 19 .venv/bin/python training/measure_evidence.py --scores training/results/cross_fold*.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # judge_data, and the qa package of this checkout

from judge_data import Candidate, Item, load  # noqa: E402

BUDGETS = [100, 150, 200, 250, 300, 400, 500]


def recall(facts: list[str], chosen: list[Candidate], previous: dict[str, str]) -> float:
    """`context_scores` of the chosen sentences, shown as the prompt shows them: by article, in reading order."""
    from qa.evaluate import context_scores

    texts = [(c.doc_id, c.start, c.text) for c in chosen]
    return context_scores(facts, [t for *_, t in sorted(texts)])["context_evidence_recall"]


def leans_back(text: str) -> bool:
    from qa.evidence import _LEANS_BACK

    return bool(_LEANS_BACK.match(text))


def choose(item: Item, order: list[int], budget: int, tokens_of) -> list[Candidate]:
    """Candidates in `order` while `budget` lasts (the first always), each leaning one with its predecessor."""
    by_id = {c.id: c for c in item.candidates}
    chosen: dict[str, Candidate] = {}
    used = 0
    for i in order:
        c = item.candidates[i]
        if c.id in chosen:
            continue
        need = [c]
        if c.previous and c.previous not in chosen and leans_back(c.text):
            text = item.previous_text[c.previous]
            start = int(c.previous.rsplit(":", 2)[1])
            need.insert(0, by_id.get(c.previous) or Candidate(c.previous, text, c.doc_id, start, c.rank, 0.0, 0.0,
                                                              0.0, tokens_of(text), None, 0))
        cost = sum(n.tokens for n in need)
        if used + cost <= budget:
            chosen.update((n.id, n) for n in need)
            used += cost
        elif not chosen:
            chosen[c.id] = c
            used = c.tokens
    return list(chosen.values())


def read_tokens(chosen: list[Candidate]) -> int:
    """Word pieces as `qa eval` counts them (the budget's 2 per sentence are not read)."""
    return sum(c.tokens - 2 for c in chosen)


def summary(rows: list[tuple[float, int]]) -> dict:
    return {"context_evidence_recall": round(statistics.mean(r for r, _ in rows), 4),
            "context_tokens_p50": statistics.median_low(sorted(t for _, t in rows)), "n": len(rows)}


def judged_order(item: Item, scores: list[float]) -> list[int]:
    """The judged candidates by the judge's score, then the rest in the chooser's order."""
    judged = sorted(range(len(scores)), key=lambda i: -scores[i])
    return judged + list(range(len(scores), len(item.candidates)))


def combined(item: Item, scores: list[float], bm25_weight: float, rank_weight: float) -> list[float]:
    """The judge's score plus the chooser's BM25 and retrieval-rank terms with these weights."""
    return [s + bm25_weight * c.bm25 + rank_weight / (c.rank + 1) for s, c in zip(scores, item.candidates)]


def offline_curves(items: list[Item], scores: dict[str, list[float]] | None, budgets: list[int], top: int | None,
                   thresholds: list[float], cap: int, bm25_weight: float = 0.0, rank_weight: float = 0.0,
                   margins: list[float] = ()) -> dict:
    from qa.embed import get_embedder

    embedder = get_embedder()
    tokens_of = lambda text: len(embedder.tokenize(text)) + 2  # noqa: E731
    scored = [i for i in items if i.answerable and i.facts and (scores is None or i.id in scores)]
    if scores is not None:
        scores = {i.id: combined(i, scores[i.id][:top] if top else scores[i.id], bm25_weight, rank_weight)
                  for i in scored}
    orders = {}
    for item in scored:
        if scores is None:
            orders[item.id] = list(range(len(item.candidates)))
        else:
            orders[item.id] = judged_order(item, scores[item.id])
    def curve(keep_of, budget_of) -> dict:
        """Recall and word pieces when each item reads `keep_of(item)` within `budget_of` word pieces."""
        rows = []
        for item in scored:
            chosen = choose(item, keep_of(item), budget_of, tokens_of)
            rows.append((recall(item.facts, chosen, item.previous_text), read_tokens(chosen)))
        return summary(rows)

    def above(item: Item, floor: float) -> list[int]:
        own = scores[item.id]
        return [i for i in orders[item.id] if i < len(own) and own[i] >= floor] or orders[item.id][:1]

    curves = {"budget": {b: curve(lambda item: orders[item.id], b) for b in budgets}}
    if scores is not None and thresholds:
        curves["threshold"] = {t: curve(lambda item, t=t: above(item, t), cap) for t in thresholds}
    if scores is not None and margins:
        curves["margin"] = {m: curve(lambda item, m=m: above(item, max(scores[item.id]) - m), cap) for m in margins}
    return curves


def live_curve(index: Path, budgets: list[int], limit: int | None, ids: set[str] | None, judge: bool) -> dict:
    """The product's own search and `select` at each budget, as `qa eval --retrieval-only` scores it
    (only the questions in `ids` when given; the relevance judge on or off)."""
    from qa import pipeline
    from qa.config import load_settings
    from qa.evaluate import RETRIEVAL_DEPTH, context_scores, load_gold

    settings = load_settings(index_dir=index, evidence_judge=judge)
    items = [i for i in load_gold(MULTIHOP_DEV) if i.answerable and i.evidence and (ids is None or i.id in ids)][:limit]
    seconds = []
    rows: dict[int, list[tuple[float, int]]] = {b: [] for b in budgets}
    for n, item in enumerate(items, 1):
        passages = pipeline.search(settings, item.question,
                                   top_k=max(RETRIEVAL_DEPTH, settings.top_k, settings.evidence_passages))
        for budget in budgets:
            started = time.perf_counter()
            evidence, tokens = pipeline.context(replace(settings, context_tokens=budget), item.question, passages)
            seconds.append(time.perf_counter() - started)
            rows[budget].append((context_scores(item.evidence, [e.text for e in evidence])["context_evidence_recall"],
                                 tokens))
        if n % 100 == 0:
            print(f"{n}/{len(items)}", file=sys.stderr, flush=True)
    return {"budget": {b: summary(r) for b, r in rows.items()},
            "selection_seconds_p50": round(statistics.median(seconds), 3)}


MULTIHOP_DEV = HERE.parent.parent / "shared" / "datasets" / "multihop_rag" / "dev.jsonl"


def read_scores(paths: list[Path]) -> dict[str, list[float]]:
    scores = {}
    for path in paths:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if "id" in row:
                scores[row["id"]] = row["scores"]
    return scores


def table(curves: dict) -> str:
    lines = ["| budget | context_evidence_recall | context_tokens_p50 | n |", "|---|---|---|---|"]
    for key, row in curves["budget"].items():
        lines.append(f"| {key} | {row['context_evidence_recall']:.3f} | {row['context_tokens_p50']} | {row['n']} |")
    for kind, title in (("threshold", "threshold (score)"), ("margin", "within of the best")):
        if kind in curves:
            lines += ["", f"| {title} | context_evidence_recall | context_tokens_p50 | n |", "|---|---|---|---|"]
            for key, row in curves[kind].items():
                lines.append(f"| {key} | {row['context_evidence_recall']:.3f} | {row['context_tokens_p50']} | {row['n']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="the product's chooser on the live index")
    parser.add_argument("--judge", action="store_true", help="live: with the relevance judge (evidence_judge)")
    parser.add_argument("--index", type=Path, default=Path(".qa/multihop-index"))
    parser.add_argument("--scores", type=Path, nargs="*", help="judge scores (out of fold) to rank by")
    parser.add_argument("--top", type=int, help="only the chooser's first N candidates are judged")
    parser.add_argument("--budgets", type=int, nargs="*", default=BUDGETS)
    parser.add_argument("--thresholds", type=float, nargs="*", default=[])
    parser.add_argument("--bm25-weight", type=float, default=0.0, help="added to the judge's score × BM25")
    parser.add_argument("--rank-weight", type=float, default=0.0, help="added to it / (passage rank + 1)")
    parser.add_argument("--margins", type=float, nargs="*", default=[],
                        help="also read every candidate scoring within this of the best (capped by --cap)")
    parser.add_argument("--cap", type=int, default=500, help="the budget that still bounds a threshold's choice")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--folds", type=int, nargs="*", help="only the questions of these folds")
    parser.add_argument("--json", type=Path, help="write the curves here")
    args = parser.parse_args()
    if args.live:
        ids = None if args.folds is None else {i.id for i in load() if i.fold in args.folds}
        curves = live_curve(args.index, args.budgets, args.limit, ids, args.judge)
    else:
        items = [i for i in load() if args.folds is None or i.fold in args.folds][:args.limit]
        curves = offline_curves(items, read_scores(args.scores) if args.scores else None, args.budgets, args.top,
                                args.thresholds, args.cap, args.bm25_weight, args.rank_weight, args.margins)
    print(table(curves))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"command": " ".join(sys.argv), **curves}, indent=1))


if __name__ == "__main__":
    main()
