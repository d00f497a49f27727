"""Synthetic questions for the relevance judge, InPars style (issue 26): the bundled 1.5B writes a
question for a sentence of an article; that sentence is the question's positive and the other
sentences of its article its hard negatives.

Sentences are drawn (fixed seed) from the MultiHop-RAG corpus only (the default corpus stays out:
the gold set's questions are about it, and it is the judge's check on another corpus), split as the
product splits them (`qa.sentences`). A question is kept only when its own sentence ranks in the
first `--keep-rank` of its article's sentences by MiniLM cosine (InPars' filter: a question its
sentence does not answer better than its neighbours is noise). The article's next-closest sentences
are stored as the question's hard negatives. Every question is written out, kept or not, with that
rank, so the filter can be changed without the LLM. Appends to the output, and skips sentences
already there: stop and resume at will (about 1–2 s a question with `--fast`, the bundled 0.5B).

  nice -n 5 .venv/bin/python training/synthetic_questions.py --count 600 --fast
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 26
MIN_WORDS, MAX_WORDS = 8, 60

PROMPT = """Write one question that a reader of a news site might ask, answered by the sentence below.
Use the names and facts of the sentence, but do not copy it. Write only the question.

Article: {title}
Sentence: {sentence}
Question:"""


def draw(articles: list, count: int, seed: int) -> list[tuple[object, int, int]]:
    """`count` (article, start, end) sentences, articles first drawn evenly, long and short ones left out."""
    from qa.sentences import sentence_spans

    rng = random.Random(seed)
    pool = []
    for article in articles:
        spans = [(a, b) for a, b in sentence_spans(article.text)
                 if MIN_WORDS <= len(article.text[a:b].split()) <= MAX_WORDS and not article.text[a:b].endswith("?")]
        rng.shuffle(spans)
        pool.append([(article, a, b) for a, b in spans])
    rng.shuffle(pool)
    drawn = []
    while len(drawn) < count and any(pool):
        for spans in pool:
            if spans and len(drawn) < count:
                drawn.append(spans.pop())
    return drawn


def own_rank(question: str, article, start: int, embedder, negatives: int = 3) -> tuple[int, list[str]]:
    """Rank (from 1) of the sentence at `start` among its article's sentences by cosine to `question`,
    and the `negatives` other sentences closest to it."""
    from qa.sentences import sentence_spans

    spans = sentence_spans(article.text)
    vectors = embedder.embed([article.text[a:b] for a, b in spans])
    similarity = vectors @ embedder.embed_queries([question])[0]
    own = next(i for i, (a, _) in enumerate(spans) if a == start)
    closest = [i for i in similarity.argsort()[::-1] if i != own][:negatives]
    return 1 + int((similarity > similarity[own]).sum()), [article.text[slice(*spans[i])] for i in closest]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="sentences drawn in all")
    parser.add_argument("--keep-rank", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "data" / "synthetic.jsonl")
    parser.add_argument("--multihop", type=Path,
                        default=ROOT.parent / "shared" / "datasets" / "multihop_rag" / "corpus.jsonl")
    parser.add_argument("--fast", action="store_true", help="the bundled 0.5B writes (the fast preset)")
    args = parser.parse_args()

    from qa.config import load_settings
    from qa.corpus import load_corpus
    from qa.embed import get_embedder
    from qa.llm import generate, get_llm

    articles = load_corpus([args.multihop]).articles
    done = set()
    if args.out.exists():
        done = {json.loads(line)["sentence_id"] for line in args.out.read_text().splitlines() if line.strip()}
    llm, embedder = get_llm(load_settings(fast=args.fast)), get_embedder()
    written = 0
    with args.out.open("a") as out:
        for article, a, b in draw(articles, args.count, SEED):
            key = f"multihop:{article.doc_id}:{a}:{b}"
            if key in done:
                continue
            sentence = article.text[a:b]
            prompt = PROMPT.format(title=article.title, sentence=" ".join(sentence.split()))
            reply = generate(llm, [{"role": "user", "content": prompt}], max_tokens=48, temperature=0.0)
            question = " ".join(reply.strip().splitlines()[0].split()) if reply.strip() else ""
            rank, negatives = own_rank(question, article, a, embedder) if question.endswith("?") else (None, [])
            out.write(json.dumps({"sentence_id": key, "doc_id": article.doc_id, "question": question,
                                  "sentence": sentence, "own_rank": rank, "negatives": negatives,
                                  "kept": rank is not None and rank <= args.keep_rank}, ensure_ascii=False) + "\n")
            out.flush()
            written += 1
            print(f"{written}: {question}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
