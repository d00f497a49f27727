"""Question pairs for the answerability judge (issue 27): the bundled 1.5B reads a sentence of a
MultiHop-RAG article and writes a question the sentence answers and one that wrongly assumes a
detail of it (a changed number, name, place, date or outcome), FalseQA style.

Sentences are drawn (fixed seed, not the relevance judge's) from the MultiHop-RAG corpus only, as
the product splits them; only sentences with a number or a name in them (something to change).
A pair is kept when both lines are questions and differ. Appends to the output and skips sentences
already there: stop and resume at will (about 6 s a pair on 2 cores).

  nice -n 5 .venv/bin/python training/premise_questions.py --count 200
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 27

PROMPT = """Here is a sentence from a news article. Write two questions about it.
1. A question that the sentence answers.
2. A question that wrongly assumes something the sentence does not say: change one detail of the sentence (a number, a name, a place, a date or an outcome) and ask about it as if it were true.

Example
Sentence: The city council approved the new stadium plan by a vote of 7 to 2 on Tuesday.
1. How did the city council vote on the new stadium plan?
2. Why did the city council reject the new stadium plan?

Now write only the two questions for this sentence, numbered 1. and 2.
Article: {title}
Sentence: {sentence}"""

_DETAIL = re.compile(r"\d|\b[A-Z][a-z]+\b.*\b[A-Z][a-z]+\b")
_NUMBERED = re.compile(r"^\s*([12])[.)]\s*(.+?)\s*$")


def pair(reply: str) -> tuple[str, str] | None:
    """The answerable and the false-premise question of a reply, or None."""
    found = {}
    for line in reply.splitlines():
        match = _NUMBERED.match(line)
        if match and match.group(1) not in found:
            found[match.group(1)] = " ".join(match.group(2).split())
    true, false = found.get("1", ""), found.get("2", "")
    if not (true.endswith("?") and false.endswith("?")) or true.lower() == false.lower():
        return None
    return true, false


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="sentences drawn in all")
    parser.add_argument("--out", type=Path, default=HERE / "data" / "premises.jsonl")
    parser.add_argument("--multihop", type=Path,
                        default=ROOT.parent / "shared" / "datasets" / "multihop_rag" / "corpus.jsonl")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    from synthetic_questions import draw

    from qa.config import load_settings
    from qa.corpus import load_corpus
    from qa.llm import generate, get_llm

    articles = load_corpus([args.multihop]).articles
    done = set()
    if args.out.exists():
        done = {json.loads(line)["sentence_id"] for line in args.out.read_text().splitlines() if line.strip()}
    llm = get_llm(load_settings())
    drawn = [(a, s, e) for a, s, e in draw(articles, args.count * 3, SEED) if _DETAIL.search(a.text[s:e])]
    written = 0
    with args.out.open("a") as out:
        for article, a, b in drawn[:args.count]:
            key = f"multihop:{article.doc_id}:{a}:{b}"
            if key in done:
                continue
            sentence = " ".join(article.text[a:b].split())
            reply = generate(llm, [{"role": "user", "content": PROMPT.format(title=article.title, sentence=sentence)}],
                             max_tokens=96, temperature=0.0)
            found = pair(reply)
            out.write(json.dumps({"sentence_id": key, "doc_id": article.doc_id, "sentence": sentence,
                                  "answerable": found[0] if found else None,
                                  "false_premise": found[1] if found else None}, ensure_ascii=False) + "\n")
            out.flush()
            written += 1
            print(f"{written}: {found}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
