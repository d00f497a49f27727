"""Training data for the relevance judge (issue 26), from the MultiHop-RAG dev split and the product's own retrieval.

For every dev question: the passages `qa eval` retrieves for it (the MultiHop index), every whole
sentence of the first `evidence_passages` of them as the evidence stage finds them
(`qa.evidence`), each scored by the current chooser. A sentence is a positive when it holds (part
of) a gold evidence fact; the rest are hard negatives (same passages, same articles, neighbours).
Gold sentences that retrieval missed are positives too (split from their article by
`qa.sentences`). The questions are split into folds stratified by question type (fixed seed), so
every dev figure can be out of fold. `eval/natural.jsonl` and `eval/gold.jsonl` are never read.

Writes two gzipped JSONL files (3 MB, committed so retraining needs neither the index nor the LLM):
  sentences.jsonl.gz  one line per sentence: id ("doc_id:start:end", offsets in the article), doc_id,
                   start, end, text
  relevance.jsonl.gz  one line per question: id, question, type, answerable, fold, outlets, facts
                   (text, doc_id, start, end, or doc_id null when not found), positives (sentence
                   ids), candidates (the chooser's best `--keep`, best first, as columns: id, rank of
                   the passage, chooser score and its cosine and BM25 parts, word pieces with the 2
                   the budget adds, previous adjacent sentence id or null, label), candidates_total

Run (builds the index once if missing; ~30 min on 2 cores):
  nice -n 19 .venv/bin/python training/relevance_data.py --index .qa/multihop-index
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
MULTIHOP = HERE.parent.parent / "shared" / "datasets" / "multihop_rag"
SEED = 26
FOLDS = 3


def squashed_with_map(text: str) -> tuple[str, list[int]]:
    """`text` without spaces and newlines (MultiHop-RAG's matching rule), and each kept character's offset."""
    kept = [(i, c) for i, c in enumerate(text) if c not in " \n"]
    return "".join(c for _, c in kept), [i for i, _ in kept]


def locate(fact: str, text: str, squashed: tuple[str, list[int]] | None = None) -> tuple[int, int] | None:
    """[start, end) of `fact` in `text`, spaces and newlines ignored; None when absent."""
    flat, where = squashed or squashed_with_map(text)
    needle = fact.replace(" ", "").replace("\n", "")
    at = flat.find(needle) if needle else -1
    if at < 0:
        return None
    return where[at], where[at + len(needle) - 1] + 1


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two spans share at least half of the shorter one (a sentence holding part of a fact)."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return shared > 0 and shared >= 0.5 * min(a[1] - a[0], b[1] - b[0])


def assign_folds(questions: list[dict], k: int, seed: int) -> dict[str, int]:
    """Fold of each question id: shuffled within each type (fixed seed), dealt round-robin."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        by_type[q.get("type", "")].append(q["id"])
    rng = random.Random(seed)
    folds: dict[str, int] = {}
    offset = 0
    for kind in sorted(by_type):
        ids = sorted(by_type[kind])
        rng.shuffle(ids)
        for i, qid in enumerate(ids):
            folds[qid] = (i + offset) % k
        offset += len(ids)
    return folds


def _gzip_text(path: Path):
    """A text file gzipped without a time stamp, so the same data gives the same bytes."""
    import io

    return io.TextIOWrapper(gzip.GzipFile(str(path), mode="wb", mtime=0), encoding="utf-8")


def sentence_id(doc_id: str, start: int, end: int) -> str:
    return f"{doc_id}:{start}:{end}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path(".qa/multihop-index"))
    parser.add_argument("--corpus", type=Path, default=MULTIHOP / "corpus.jsonl")
    parser.add_argument("--dev", type=Path, default=MULTIHOP / "dev.jsonl")
    parser.add_argument("--out", type=Path, default=HERE / "data")
    parser.add_argument("--keep", type=int, default=100, help="candidates kept per question, by chooser score")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--limit", type=int, help="only the first N questions (a smoke run)")
    args = parser.parse_args()

    from qa import pipeline
    from qa.config import load_settings
    from qa.corpus import load_corpus
    from qa.evaluate import RETRIEVAL_DEPTH
    from qa.evidence import _bm25, _score, _sentences
    from qa.question import parts
    from qa.sentences import sentence_spans

    settings = load_settings(index_dir=args.index, evidence_judge=False)  # the cheap score: the judge learns to beat it
    if not settings.manifest_path.exists():
        print(f"building the index in {args.index} (once)", file=sys.stderr)
        pipeline.ingest(settings, [args.corpus])
    articles = {a.doc_id: a for a in load_corpus([args.corpus]).articles}
    squashed = {doc_id: squashed_with_map(a.text) for doc_id, a in articles.items()}
    questions = [json.loads(line) for line in args.dev.read_text().splitlines() if line.strip()]
    folds = assign_folds(questions, args.folds, SEED)
    if args.limit:
        questions = questions[:args.limit]
    retriever = pipeline.retriever(settings)
    texts: dict[str, dict] = {}

    def remember(doc_id: str, start: int, end: int) -> str:
        key = sentence_id(doc_id, start, end)
        texts.setdefault(key, {"id": key, "doc_id": doc_id, "start": start, "end": end,
                               "text": articles[doc_id].text[start:end]})
        return key

    args.out.mkdir(parents=True, exist_ok=True)
    unfound = 0
    with _gzip_text(args.out / "relevance.jsonl.gz") as out:
        for n, q in enumerate(questions, 1):
            facts = []
            for fact in q.get("evidence", []):
                # Facts are verbatim in one of the gold sources' bodies (else anywhere in the corpus).
                order = q.get("sources", []) + [d for d in articles if d not in q.get("sources", [])]
                found = next(((d, span) for d in order if d in articles
                              for span in [locate(fact, articles[d].text, squashed[d])] if span), None)
                unfound += found is None
                facts.append({"text": fact, "doc_id": found[0] if found else None,
                              "start": found[1][0] if found else None, "end": found[1][1] if found else None})
            positives = []
            for f in facts:
                if f["doc_id"] is None:
                    continue
                for a, b in sentence_spans(articles[f["doc_id"]].text):
                    if overlaps((a, b), (f["start"], f["end"])):
                        positives.append(remember(f["doc_id"], a, b))
            positives = list(dict.fromkeys(positives))

            # What `qa eval` does: search as deep as it reads, the evidence stage takes the first passages.
            passages = pipeline.search(settings, q["question"],
                                       top_k=max(RETRIEVAL_DEPTH, settings.top_k, settings.evidence_passages))
            candidates = passages[:settings.evidence_passages]
            sentences = _sentences(candidates, retriever.embedder, retriever.index.sentence_vectors(candidates))
            cosine, lexical = [], []
            if sentences:
                _score(q["question"], sentences, retriever.embedder, settings)
                # The score's parts, so a judge can stand in for one of them: cosine to the question
                # (or its best-matching part) and BM25 over the candidates scaled to the best.
                queries = [q["question"]] + (parts(q["question"]) if settings.evidence_parts else [])
                vectors = retriever.embedder.embed_queries(queries)
                cosine = [float((s.vector @ vectors.T).max()) for s in sentences]
                lexical = list(_bm25(q["question"], [s.passage.text[s.start:s.end] for s in sentences]))
            order = sorted(range(len(sentences)), key=lambda i: -sentences[i].score)[:args.keep]
            gold_spans = [(f["doc_id"], (f["start"], f["end"])) for f in facts if f["doc_id"]]
            columns: dict[str, list] = {"id": [], "rank": [], "score": [], "cosine": [], "bm25": [], "tokens": [],
                                        "previous": [], "label": []}
            for i in order:
                s = sentences[i]
                doc_id, start, end = s.passage.doc_id, s.passage.start + s.start, s.passage.start + s.end
                previous = None
                if s.previous is not None:
                    p = sentences[s.previous]
                    previous = remember(p.passage.doc_id, p.passage.start + p.start, p.passage.start + p.end)
                columns["id"].append(remember(doc_id, start, end))
                columns["rank"].append(s.rank)
                columns["score"].append(round(s.score, 4))
                columns["cosine"].append(round(cosine[i], 4))
                columns["bm25"].append(round(float(lexical[i]), 4))
                columns["tokens"].append(s.tokens)
                columns["previous"].append(previous)
                columns["label"].append(int(any(d == doc_id and overlaps((start, end), span) for d, span in gold_spans)))
            record = {"id": q["id"], "question": q["question"], "type": q.get("type", ""),
                      "answerable": q.get("answerable", True), "fold": folds[q["id"]],
                      "outlets": retriever.analyse(q["question"]).outlets, "facts": facts,
                      "positives": positives, "candidates": columns, "candidates_total": len(sentences)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if n % 50 == 0:
                print(f"{n}/{len(questions)} questions", file=sys.stderr)
    with _gzip_text(args.out / "sentences.jsonl.gz") as out:
        for key in sorted(texts):
            out.write(json.dumps(texts[key], ensure_ascii=False) + "\n")
    print(f"{len(questions)} questions, {len(texts)} sentences, {unfound} facts not found", file=sys.stderr)


if __name__ == "__main__":
    main()
