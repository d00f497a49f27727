"""Evaluation: gold Q&A sets, retrieval and answer metrics, run fingerprints and comparisons.

The metric names are fixed (reports are compared across runs). Retrieval metrics skip
unanswerable questions; evidence metrics follow MultiHop-RAG's own rule (a passage is relevant
when a gold evidence sentence is a substring of it once spaces and newlines are removed).
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import string
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from qa import pipeline
from qa.config import Settings
from qa.pipeline import Answer, Evidence, LLMError, Passage, Period, cited_numbers, run_fingerprint, split_sentences

RETRIEVAL_DEPTH = 10
RETRIEVAL_METRICS = ["hit@4", "hit@10", "recall@10", "mrr@10"]
EVIDENCE_METRICS = ["evidence_hit@4", "evidence_hit@10", "evidence_mrr@10", "evidence_map@10", "evidence_recall@10"]
# What the model reads (the evidence stage's output): its size, and how much gold evidence is inside.
CONTEXT_METRICS = ["context_tokens_p50", "context_tokens_p95", "context_evidence_recall", "context_evidence_all"]
ANSWER_METRICS = ["answer_accuracy", "answer_precision", "yes_no_accuracy", "yes_no_always_yes", "keyword_accuracy",
                  "token_f1", "semantic_similarity", "refusal_accuracy", "citation_precision", "citation_coverage",
                  "citation_support"]


class GoldError(ValueError):
    """A gold file line that is not a valid question; the message names the file and line."""


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answer: str
    sources: list[str]
    keywords: list[str]
    answerable: bool
    evidence: list[str] = field(default_factory=list)
    type: str = ""


_REQUIRED = {"id": str, "question": str, "answer": str, "sources": list, "keywords": list, "answerable": bool}
_OPTIONAL = {"evidence": list, "type": str}


def load_gold(path: Path) -> list[GoldItem]:
    """Every line validated; the first bad one raises `GoldError` naming file and line."""
    items: list[GoldItem] = []
    seen: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise GoldError(f"{path}: cannot read ({error})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise GoldError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise GoldError(f"{where}: expected a JSON object")
        for name, kind in {**_REQUIRED, **_OPTIONAL}.items():
            if name not in record:
                if name in _REQUIRED:
                    raise GoldError(f"{where}: missing field {name!r}")
                continue
            value = record[name]
            if not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
                expected = "a list of strings" if kind is list else kind.__name__
                raise GoldError(f"{where}: field {name!r} must be {expected}, got {json.dumps(value)[:60]}")
        if not record["question"].strip() or not record["id"].strip():
            raise GoldError(f"{where}: empty 'id' or 'question'")
        if record["id"] in seen:
            raise GoldError(f"{where}: duplicate id {record['id']!r} (first on line {seen[record['id']]})")
        seen[record["id"]] = number
        items.append(GoldItem(**{k: record[k] for k in {**_REQUIRED, **_OPTIONAL} if k in record}))
    if not items:
        raise GoldError(f"{path}: no questions")
    return items


# --- answer metrics ----------------------------------------------------------

def keyword_groups_found(text: str, keywords: list[str]) -> bool:
    """Every keyword group appears as a whole word or phrase; `a|b` accepts either."""
    return all(any(_contains_phrase(text, alt) for alt in group.split("|") if alt.strip()) for group in keywords)


_YES_NO = {"yes", "no"}


def answer_correct(item: GoldItem, text: str, refused: bool) -> bool:
    """Strict scoring: a refusal exactly when unanswerable; a yes/no answer by its first word
    (MultiHop-RAG's convention: "No, but …" is a no); otherwise every keyword group."""
    if not item.answerable or refused:
        return refused and not item.answerable
    gold = item.answer.strip().rstrip(".").lower()
    if gold in _YES_NO:
        first = _WORD_RE.match(_plain(text).strip().lstrip(string.punctuation + " "))
        return bool(first) and first.group().lower() == gold
    return keyword_groups_found(text, item.keywords or [item.answer])


_WORD_RE = re.compile(r"\w+")


def _contains_phrase(text: str, phrase: str) -> bool:
    pattern = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.search(rf"(?<!\w){pattern}(?!\w)", text, re.IGNORECASE) is not None


def _normalise(text: str) -> list[str]:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = _normalise(prediction), _normalise(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _plain(answer_text: str) -> str:
    return re.sub(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]", "", answer_text)


def citation_stats(answer: Answer, sources: list[str]) -> tuple[int, int, int, int]:
    """(citations whose article is a gold source, citations, sentences with a citation, sentences)."""
    good = 0
    for citation in answer.citations:
        passage = answer.evidence[citation.n - 1].passage
        good += bool({passage.doc_id, *passage.also_in} & set(sources))
    sentences = split_sentences(answer.text)
    cited = sum(bool(cited_numbers(s, len(answer.evidence))) for s in sentences)
    return good, len(answer.citations), cited, len(sentences)


# --- retrieval metrics -------------------------------------------------------

def _squash(text: str) -> str:
    return text.replace(" ", "").replace("\n", "")


def retrieval_scores(item: GoldItem, passages: list[Passage]) -> dict[str, float]:
    top = passages[:RETRIEVAL_DEPTH]
    gold = set(item.sources)
    docs = [{p.doc_id, *p.also_in} for p in top]
    first = next((rank for rank, d in enumerate(docs, start=1) if d & gold), None)
    found = set().union(*docs) & gold if docs else set()
    scores = {
        "hit@4": float(any(d & gold for d in docs[:4])),
        "hit@10": float(first is not None),
        "recall@10": len(found) / len(gold) if gold else 0.0,
        "mrr@10": 1 / first if first else 0.0,
    }
    if item.evidence:
        scores.update(evidence_scores(item.evidence, [p.text for p in top]))
    return scores


def evidence_scores(evidence: list[str], texts: list[str]) -> dict[str, float]:
    gold = [_squash(e) for e in evidence]
    texts = [_squash(t) for t in texts[:RETRIEVAL_DEPTH]]
    relevant = [any(g in t for g in gold) for t in texts]
    first = next((rank for rank, rel in enumerate(relevant, start=1) if rel), None)
    found: set[str] = set()
    precision_sum = 0.0
    for rank, text in enumerate(texts, start=1):
        new = [g for g in gold if g in text and g not in found]
        found.update(new)
        if relevant[rank - 1]:
            precision_sum += len(new) / rank
    return {
        "evidence_hit@4": float(any(relevant[:4])),
        "evidence_hit@10": float(first is not None),
        "evidence_mrr@10": 1 / first if first else 0.0,
        "evidence_map@10": precision_sum / min(len(gold), RETRIEVAL_DEPTH),
        "evidence_recall@10": len(found) / len(set(gold)),
    }


def context_scores(evidence: list[str], context: list[str]) -> dict[str, float]:
    """Share of the gold evidence sentences inside what the model reads (normalised as `evidence_hit`),
    and whether all of them are. A gold sentence the evidence stage split in two counts when each of
    its sentences is there: it is scored by its pieces found in the context's joined text."""
    gold = [_squash(e) for e in evidence]
    joined = _squash(" ".join(context))
    inside = [g in joined for g in gold]
    return {"context_evidence_recall": sum(inside) / len(inside), "context_evidence_all": float(all(inside))}


# --- a run -------------------------------------------------------------------

@dataclass
class ItemResult:
    id: str
    question: str
    type: str
    answerable: bool
    expected: str
    retrieval: dict[str, float] = field(default_factory=dict)
    retrieved_docs: list[str] = field(default_factory=list)
    got: str | None = None
    refused: bool | None = None
    correct: bool | None = None
    keywords_found: bool | None = None
    token_f1: float | None = None
    semantic_similarity: float | None = None
    cited_docs: list[str] = field(default_factory=list)
    citations_good: int = 0
    citations: int = 0
    sentences_cited: int = 0
    sentences: int = 0
    citations_checked: int = 0
    citations_supported: int = 0
    margins: dict[str, float] = field(default_factory=dict)
    context_tokens: int | None = None
    prompt_tokens: int | None = None     # read by the model (a prefix reused from its cache not counted)
    first_token_s: float | None = None
    latency_s: float = 0.0
    error: str | None = None


def evaluate(items: list[GoldItem], settings: Settings, *, search: Callable[..., list[Passage]],
             answer: Callable[[str], Answer] | None, embed: Callable[[list[str]], Any] | None,
             context: Callable[[str, list[Passage]], tuple[list[Evidence], int]] | None = None,
             on_progress: Callable[[], None] | None = None) -> list[ItemResult]:
    """Score each item; `answer` None means retrieval only. `context(question, passages)` gives what
    the model reads of the passages and its length in tokens."""
    results = []
    for item in items:
        started = time.perf_counter()
        passages = search(item.question, top_k=max(RETRIEVAL_DEPTH, settings.top_k, settings.evidence_passages))
        result = ItemResult(item.id, item.question, item.type or "untyped", item.answerable, item.answer,
                            retrieved_docs=[p.doc_id for p in passages[:RETRIEVAL_DEPTH]])
        if item.answerable and item.sources:
            result.retrieval = retrieval_scores(item, passages)
        if context is not None:
            evidence, result.context_tokens = context(item.question, passages)
            if item.answerable and item.evidence:
                result.retrieval.update(context_scores(item.evidence, [e.text for e in evidence]))
        result.latency_s = time.perf_counter() - started
        if answer is not None:
            _score_answer(result, item, answer)
        results.append(result)
        if on_progress:
            on_progress()
    if embed is not None:
        _add_semantic_similarity(results, embed)
    return results


def _score_answer(result: ItemResult, item: GoldItem, answer: Callable[[str], Answer]) -> None:
    try:
        got = answer(item.question)
    except LLMError as error:
        result.error, result.refused, result.correct, result.got = str(error), False, False, ""
        result.keywords_found = False if item.answerable else None
        return
    result.got, result.refused = got.text, got.refused
    result.latency_s = got.timings.get("total_s", result.latency_s)
    result.prompt_tokens, result.first_token_s = got.timings.get("prompt_tokens"), got.timings.get("first_token_s")
    result.cited_docs = [c.doc_id for c in got.citations]
    result.citations_checked, result.citations_supported = got.citations_checked, got.citations_supported
    result.margins = got.margins
    result.correct = answer_correct(item, got.text, got.refused)
    if item.answerable:
        result.keywords_found = not got.refused and keyword_groups_found(got.text, item.keywords)
        result.token_f1 = 0.0 if got.refused else token_f1(_plain(got.text), item.answer)
        if not got.refused:
            result.citations_good, result.citations, result.sentences_cited, result.sentences = \
                citation_stats(got, item.sources)


def _add_semantic_similarity(results: list[ItemResult], embed: Callable[[list[str]], Any]) -> None:
    scored = [r for r in results if r.answerable and r.got is not None]
    if not scored:
        return
    vectors = embed([_plain(r.got) or " " for r in scored] + [r.expected for r in scored])
    for i, result in enumerate(scored):
        result.semantic_similarity = 0.0 if result.refused else float(vectors[i] @ vectors[len(scored) + i])


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarize(results: list[ItemResult]) -> dict[str, Any]:
    summary: dict[str, Any] = {"n": len(results), "answerable": sum(r.answerable for r in results)}
    with_retrieval = [r for r in results if r.retrieval]
    for metric in RETRIEVAL_METRICS + EVIDENCE_METRICS + CONTEXT_METRICS[2:]:
        values = [r.retrieval[metric] for r in with_retrieval if metric in r.retrieval]
        if values:
            summary[metric] = _mean(values)
    tokens = sorted(r.context_tokens for r in results if r.context_tokens is not None)
    if tokens:
        summary["context_tokens_p50"] = _percentile(tokens, 0.5)
        summary["context_tokens_p95"] = _percentile(tokens, 0.95)
    answered = [r for r in results if r.got is not None]
    if answered:
        answerable = [r for r in answered if r.answerable]
        summary["answer_accuracy"] = _mean([float(bool(r.correct)) for r in answered])
        # Accuracy among the questions it did answer (a refusal is neither right nor wrong here).
        summary["answer_precision"] = _mean([float(bool(r.correct)) for r in answered if not r.refused])
        # Questions whose gold answer is Yes or No, and what answering "Yes" to all of them would score.
        verdicts = [r for r in answered if r.answerable and _gold_verdict(r.expected)]
        summary["yes_no_accuracy"] = _mean([float(bool(r.correct)) for r in verdicts])
        summary["yes_no_always_yes"] = _mean([float(_gold_verdict(r.expected) == "yes") for r in verdicts])
        summary["keyword_accuracy"] = _mean([float(bool(r.keywords_found)) for r in answerable])
        summary["token_f1"] = _mean([r.token_f1 or 0.0 for r in answerable])
        summary["semantic_similarity"] = _mean([r.semantic_similarity or 0.0 for r in answerable])
        summary["refusal_accuracy"] = _mean([float(bool(r.refused) != r.answerable) for r in answered])
        citations = sum(r.citations for r in answered)
        sentences = sum(r.sentences for r in answered)
        summary["citation_precision"] = round(sum(r.citations_good for r in answered) / citations, 4) if citations else None
        summary["citation_coverage"] = round(sum(r.sentences_cited for r in answered) / sentences, 4) if sentences else None
        checked = sum(r.citations_checked for r in answered)
        summary["citation_support"] = round(sum(r.citations_supported for r in answered) / checked, 4) if checked else None
        refused = [r for r in answered if r.refused]
        summary["refusal_precision"] = _mean([float(not r.answerable) for r in refused])
        unanswerable = [r for r in answered if not r.answerable]
        summary["refusal_recall"] = _mean([float(bool(r.refused)) for r in unanswerable])
        summary["errors"] = sum(r.error is not None for r in answered)
    read = sorted(r.prompt_tokens for r in results if r.prompt_tokens is not None)
    if read:
        summary["prompt_tokens_p50"] = statistics.median(read)
    first = sorted(r.first_token_s for r in results if r.first_token_s is not None)
    if first:
        summary["first_token_p50_s"] = round(statistics.median(first), 3)
    latencies = sorted(r.latency_s for r in results)
    summary["latency_p50_s"] = round(statistics.median(latencies), 3)
    summary["latency_p95_s"] = round(_percentile(latencies, 0.95), 3)
    return summary


def _percentile(ordered: list, share: float):
    """The value at `share` of a sorted list (the median for 0.5, as statistics.median gives)."""
    if share == 0.5:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _gold_verdict(answer: str) -> str:
    word = answer.strip().rstrip(".").lower()
    return word if word in _YES_NO else ""


def by_type(results: list[ItemResult]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ItemResult]] = {}
    for result in results:
        groups.setdefault(result.type, []).append(result)
    return {name: summarize(group) for name, group in sorted(groups.items())}


def worst(results: list[ItemResult], limit: int = 10) -> list[ItemResult]:
    """Wrong answers first (lowest token F1), then retrieval misses."""
    wrong = [r for r in results if r.correct is False]
    wrong.sort(key=lambda r: (r.token_f1 if r.token_f1 is not None else -1, r.id))
    misses = [r for r in results if r.correct is None and r.retrieval and
              not r.retrieval.get("evidence_hit@10", r.retrieval["hit@10"])]
    return (wrong + misses)[:limit]


# --- reports -----------------------------------------------------------------

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def fingerprint(gold_path: Path, settings: Settings, manifest: Any, model: str | None) -> dict[str, Any]:
    return {"gold": {"path": str(gold_path), "sha256": _sha(gold_path)}, **run_fingerprint(settings, manifest, model)}


def report(results: list[ItemResult], config: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summarize(results), "by_type": by_type(results),
            "items": [asdict(r) for r in results], "config": config}


def compare(current: dict[str, Any], previous: dict[str, Any]) -> tuple[list[tuple[str, Any, Any]], list[dict]]:
    """(metric, before, after) for every shared metric, and the questions whose correctness flipped."""
    deltas = [(name, previous["summary"].get(name), value) for name, value in current["summary"].items()
              if isinstance(value, (int, float)) and name in previous["summary"]]
    before = {item["id"]: item for item in previous.get("items", [])}
    flipped = []
    for item in current["items"]:
        old = before.get(item["id"])
        if old is None:
            continue
        was, now = _right(old), _right(item)
        if was is not None and now is not None and was != now:
            flipped.append({"id": item["id"], "question": item["question"], "now": "right" if now else "wrong",
                            "got": item.get("got"), "before": old.get("got")})
    return deltas, flipped


def _right(item: dict[str, Any]) -> bool | None:
    if item.get("correct") is not None:
        return item["correct"]
    retrieval = item.get("retrieval") or {}
    key = "evidence_hit@10" if "evidence_hit@10" in retrieval else "hit@10"
    return bool(retrieval[key]) if key in retrieval else None


def gate(summary: dict[str, Any], minimums: dict[str, float]) -> list[str]:
    """Metrics below their minimum (or missing), as messages."""
    failures = []
    for name, minimum in minimums.items():
        value = summary.get(name)
        if value is None:
            failures.append(f"{name}: not measured in this run")
        elif value < minimum:
            failures.append(f"{name} = {value:.3f} is below the minimum {minimum:.3f}")
    return failures


def markdown(data: dict[str, Any], failures: list[ItemResult] | None = None) -> str:
    summary, types = data["summary"], data["by_type"]
    lines = [f"# Evaluation: {data['config']['gold']['path']}", "",
             f"{summary['n']} questions ({summary['answerable']} answerable); model: {data['config']['model'] or 'none (retrieval only)'}; "
             f"index: {data['config']['index']['articles']} articles.", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {fmt(value)} |" for name, value in summary.items() if name not in ("n", "answerable")]
    metrics = [m for m in ("n", "answer_accuracy", "keyword_accuracy", "refusal_accuracy", "evidence_hit@10", "evidence_recall@10", "hit@10")
               if any(m in t for t in types.values())]
    lines += ["", "## By type", "", "| type | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(fmt(t.get(m)) for m in metrics) + " |" for name, t in types.items()]
    if failures:
        lines += ["", "## Worst failures", "", "| id | question | expected | got | cited |", "|---|---|---|---|---|"]
        lines += [f"| {r.id} | {_cell(r.question)} | {_cell(r.expected)} | {_cell(r.got or '(retrieval miss)')} | "
                  f"{_cell(', '.join(r.cited_docs or r.retrieved_docs[:3]))} |" for r in failures]
    return "\n".join(lines) + "\n"


def fmt(value: Any) -> str:
    """A metric for a table: three decimals, '–' when not measured."""
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _cell(text: str, limit: int = 120) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stratified_sample(items: list[GoldItem], n: int) -> list[GoldItem]:
    """About n items with each type in proportion, the same ones every run (first of each type, in file order)."""
    if n >= len(items):
        return items
    groups: dict[str, list[GoldItem]] = {}
    for item in items:
        groups.setdefault(item.type, []).append(item)
    quotas = {name: max(1, round(n * len(group) / len(items))) for name, group in groups.items()}
    chosen = {item.id for name, group in groups.items() for item in group[: quotas[name]]}
    return [item for item in items if item.id in chosen]


def run(gold_path: Path, settings: Settings, *, retrieval_only: bool = False, limit: int | None = None,
        sample: int | None = None, period: Period | None = None, on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[], None] | None = None) -> tuple[dict[str, Any], list[ItemResult]]:
    """Evaluate a gold file against the index in `settings` (only articles published in `period`,
    when given); returns (report, results)."""
    items = load_gold(gold_path)
    if sample:
        items = stratified_sample(items, sample)
    if limit:
        items = items[:limit]
    retriever = pipeline.retriever(settings)
    llm = None if retrieval_only else pipeline.llm(settings)
    if on_start:
        on_start(len(items))
    results = evaluate(
        items, settings,
        search=lambda q, top_k: pipeline.search(settings, q, top_k=top_k, period=period),
        answer=None if llm is None else (lambda q: pipeline.ask(settings, q, period=period, history=False)),  # not logged
        embed=None if llm is None else retriever.embedder.embed,
        context=lambda q, passages: pipeline.context(settings, q, passages),
        on_progress=on_progress,
    )
    config = fingerprint(gold_path, settings, retriever.index.manifest, None if llm is None else llm.name)
    if period is not None:
        config["period"] = str(period)
    return report(results, config), results
