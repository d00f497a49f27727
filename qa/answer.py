"""Answering: analyse → retrieve → numbered passages in the prompt → stream the model → a cited `Answer`.

The question's analysis (`qa.question`) can refuse at once (it asks what an unindexed outlet
reported), orders passages by date (time questions) and makes a yes/no answer open with the word
the model's own logits favour.

Every [n] the model writes is kept only if passage n supports its sentence; sentences it left
uncited are attributed to the best-matching passage when one supports them well enough, and
otherwise listed as unsupported. A refusal is one fixed sentence with no citations.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from collections.abc import Callable
from concurrent.futures import Future
from datetime import date
from typing import Iterator

import numpy as np

from qa.config import Settings
from qa.embed import Embedder
from qa.evidence import Evidence, in_date_order, select, whole_passages
from qa.judges import answerability_judge
from qa.llm import LLM, turn
from qa.prompts import render
from qa.question import YES_NO, Question
from qa.retrieve import Retriever
from qa.sentences import sentence_spans
from qa.timeframe import Period
from qa.timeline import Event, build_timeline
from qa.types import Passage, byline

REFUSAL_LEAD = "The articles do not say."
REFUSAL = f"{REFUSAL_LEAD} Try rephrasing the question, or add articles that cover it."
REFUSAL_MARK = "NOT IN ARTICLES"
# Phrases small models use instead of the exact refusal mark.
_REFUSAL_PHRASES = re.compile(
    r"^\W*(not in (the )?articles|insufficient information|the (passages|articles|sources) (do not|don't|does not) "
    r"(contain|mention|say|provide|specify)|(there is )?no information|i (cannot|can't|don't know))", re.IGNORECASE)
_MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_WORD = re.compile(r"\w+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_STOPWORDS = frozenset(
    "a an and are as at be been by for from had has have he her his in is it its of on or she that the their "
    "they this to was were which who will with".split())


class QuestionError(ValueError):
    """The question itself cannot be asked (empty, too long)."""


@dataclass
class Citation:
    """Passage `n` of the prompt; `start`/`end` locate it in the article, `quote_*` the sentence that supports the claim."""

    n: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    source: str = ""
    published_at: str = ""
    quote: str = ""
    quote_start: int = 0
    quote_end: int = 0
    # The passage's cosine similarity to the question (shown as its relevance).
    similarity: float = 0.0


@dataclass
class Answer:
    question: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    # What the model read, numbered as cited: [n] is evidence[n - 1].
    evidence: list[Evidence] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    # Citations the model wrote that were checked against their passage, and those that passed.
    citations_checked: int = 0
    citations_supported: int = 0
    # For a yes/no question (local backend): logit of "Yes" minus "No", and of the refusal mark
    # minus the better of the two.
    margins: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    model: str = ""
    # What the reader should know about how the question was read ("“last week” read as …").
    notes: list[str] = field(default_factory=list)
    # For a question about how something developed: the evidence as dated events, earliest first.
    timeline: list[Event] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Everything about the answer as plain JSON values (CLI `--json`, the UI's API); the text is "answer"."""
        data = asdict(self)
        # What the model read, as quotes: the passages they come from are in "passages".
        data["evidence"] = [{"n": n, "doc_id": e.passage.doc_id, "title": e.passage.title, "source": e.passage.source,
                             "published_at": e.passage.published_at, "text": e.text,
                             "start": e.article_start, "end": e.article_end}
                            for n, e in enumerate(self.evidence, start=1)]
        return {"question": data.pop("question"), "answer": data.pop("text"), **data}


def check_question(question: str, settings: Settings) -> str:
    """The question with control characters and runs of space removed; QuestionError if unusable."""
    question = " ".join(_CONTROL.sub(" ", question).split())
    if not question:
        raise QuestionError("the question is empty")
    if not _WORD.search(question.replace("_", "")):
        raise QuestionError("the question has no words in it")
    if len(question) > settings.max_question_chars:
        raise QuestionError(f"the question is {len(question):,} characters long; the limit is "
                            f"{settings.max_question_chars:,} (QA_MAX_QUESTION_CHARS)")
    return question


def system_message() -> dict[str, str]:
    """The start of every answer prompt, the same bytes for every question."""
    return {"role": "system", "content": render("answer.system")}


def build_messages(question: str, evidence: list[Evidence], *, in_time_order: bool = False,
                   yes_no: bool = False) -> list[dict[str, str]]:
    """The chat for the model: the fixed system prompt (the same bytes for every question, so a local
    model keeps its state and reads it once), the evidence grouped by article under one heading
    each, numbered for citation, then the question, and after it the guide lines that say the
    articles are in date order, or that the answer must open with Yes or No. (In the fixed prompt,
    as general rules, they cost five natural questions and turned "Can you tell me why…" into a Yes.)"""
    guidance = [render(name) for name, applies in (("guide.temporal", in_time_order), ("guide.yes_no", yes_no))
                if applies]
    blocks: list[list[str]] = []
    for n, e in enumerate(evidence, start=1):
        if n == 1 or e.passage.doc_id != evidence[n - 2].passage.doc_id:
            p = e.passage
            blocks.append([render("evidence.article", title=p.title, byline=f" · {byline(p)}" if byline(p) else "")])
        blocks[-1].append(render("evidence.sentence", n=n, text=" ".join(e.text.split())))
    return [
        system_message(),
        {"role": "user", "content": render("answer.user", passages="\n\n".join("\n".join(b) for b in blocks),
                                               question=question,
                                               guidance="\n".join(guidance)).strip()},
    ]


def retrieve(question: str, *, settings: Settings, retriever: Retriever, doc_ids: list[str] | None = None,
             period: Period | None = None, recent: bool = False) -> list[Passage]:
    """The passages the evidence stage chooses from (and `qa search` shows)."""
    depth = max(settings.top_k, settings.evidence_passages) if settings.evidence else settings.top_k
    return retriever.search(question, top_k=depth, hybrid=settings.hybrid, doc_ids=doc_ids, period=period,
                            recent=recent)


def time_scope(analysis: Question, period: Period | None, newest: date | None) -> tuple[Period | None, list[str]]:
    """The publication period to search (the one given, else the one the question names) and the
    note that says how the question's words were read."""
    if period is not None or analysis.time.period is None:
        return period, []
    reading = analysis.time
    note = f"Read “{reading.phrase}” as articles published {reading.period}"
    return reading.period, [note + (f" (the newest article is from {newest})." if reading.relative else ".")]


def evidence_for(question: str, analysis: Question, passages: list[Passage], *, settings: Settings,
                 retriever: Retriever) -> list[Evidence]:
    """What the model reads of `passages`, in prompt order (articles in date order for a question
    about time); whole passages when the evidence stage is off."""
    if settings.evidence:
        candidates = passages[:settings.evidence_passages]
        evidence = select(question, candidates, retriever.embedder, settings, outlets=analysis.outlets,
                          stored=retriever.index.sentence_vectors(candidates))
    else:
        evidence = whole_passages(passages[:settings.top_k])
    if settings.date_order and analysis.temporal:
        evidence = in_date_order(evidence)
    return evidence


# The stages of answering a question, in order, for a status line (`Stage`).
SEARCHING, READING, WAITING, WRITING = "searching", "reading", "waiting", "writing"


@dataclass
class Stage:
    """Where answering is: SEARCHING the index, READING (the model reads `evidence`, the sentences it
    was given, numbered as it will cite them: [n] is evidence[n - 1]), WAITING for the model, which
    serves `ahead` other questions first, or WRITING (text follows)."""

    name: str
    evidence: list[Evidence] = field(default_factory=list)
    ahead: int = 0

    @property
    def articles(self) -> int:
        return len({e.passage.doc_id for e in self.evidence})


class Response:
    """A question being answered. Iterating gives `Stage`s and the model's text deltas (`str`) as they
    come; afterwards `answer` is the final, cited `Answer` (shown in place of the streamed draft),
    and `evidence` what the model read. `final()` runs it to the end; `stop()`, from any thread,
    ends it wherever it is and frees the model for the next question."""

    def __init__(self, events: Iterator[Stage | str | Answer | _ModelTurn]) -> None:
        self._events = events
        self._turn = None
        self._stopped = False
        self._when_answered: list[Callable[[Answer], None]] = []
        self.evidence: list[Evidence] = []
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[Stage | str]:
        try:
            for item in self._events:
                if isinstance(item, _ModelTurn):
                    self._turn = item.turn
                    if self._stopped:
                        self._turn.end()
                    continue
                if self._stopped:
                    return
                if isinstance(item, Answer):
                    self.answer = item
                    for call in self._when_answered:
                        call(item)
                    return
                if isinstance(item, Stage) and item.evidence:
                    self.evidence = item.evidence
                yield item
        finally:
            self.close()

    def when_answered(self, call: Callable[[Answer], None]) -> None:
        """Call `call(answer)` once the final answer is there (never for a stopped one)."""
        self._when_answered.append(call)

    def stop(self) -> None:
        """Stop answering, from any thread: the model stops within a token and serves the next question."""
        self._stopped = True
        if self._turn is not None:
            self._turn.end()

    def close(self) -> None:
        self.stop()
        try:
            self._events.close()
        except ValueError:  # running in another thread: its ended turn stops it at the model's next step
            pass

    def final(self) -> Answer:
        for _ in self:
            pass
        return self.answer


@dataclass
class _ModelTurn:
    """The question's turn on the model (a `Response` keeps it, to end it when stopped)."""

    turn: object


def stream_answer(question: str, *, settings: Settings, retriever: Retriever, llm: LLM | Future,
                  doc_ids: list[str] | None = None, period: Period | None = None) -> Response:
    """The answer as a `Response`: stages, text as the model writes it, then the final `Answer`.
    The question is checked at once (QuestionError), before anything is searched. `llm` may be a
    `Future` of a model still loading: it is waited for once the evidence is out. `period` keeps
    to articles published in it (otherwise the period the question names, if any)."""
    question = check_question(question, settings)
    model = llm.result if isinstance(llm, Future) else lambda: llm
    return Response(_answer_events(question, settings, retriever, model, doc_ids, period))


def _answer_events(question: str, settings: Settings, retriever: Retriever, model: Callable[[], LLM],
                   doc_ids: list[str] | None, period: Period | None) -> Iterator[Stage | str | Answer]:
    started = time.perf_counter()
    yield Stage(SEARCHING)
    analysis = retriever.analyse(question)
    if settings.source_refusal and analysis.unknown_outlets and doc_ids is None:
        # Asked what an outlet reported, and no article from it is indexed: the articles cannot say.
        names = " or ".join(analysis.unknown_outlets)
        yield Answer(question, f"{REFUSAL_LEAD} No indexed article is from {names}.", refused=True,
                     timings={"total_s": round(time.perf_counter() - started, 3)}, model=model().name)
        return
    period, notes = time_scope(analysis, period, retriever.newest)
    if period is not None and not retriever.within_period(doc_ids, period):
        yield Answer(question, f"{REFUSAL_LEAD} No indexed article was published {period}.",
                     refused=True, notes=notes, timings={"total_s": round(time.perf_counter() - started, 3)},
                     model=model().name)
        return
    passages = retrieve(question, settings=settings, retriever=retriever, doc_ids=doc_ids, period=period,
                        recent=analysis.time.recent)
    timings = {"retrieve_s": round(time.perf_counter() - started, 3)}
    if not passages or max(p.similarity for p in passages) < settings.min_similarity:
        timings["total_s"] = round(time.perf_counter() - started, 3)
        yield Answer(question, REFUSAL, refused=True, passages=passages, timings=timings, model=model().name,
                     notes=notes)
        return
    evidence = evidence_for(question, analysis, passages, settings=settings, retriever=retriever)
    timings["evidence_s"] = round(time.perf_counter() - started - timings["retrieve_s"], 3)
    yield Stage(READING, evidence)
    supported = None  # the answerability judge's probability that the evidence supports an answer
    if settings.answerability_judge and evidence:
        judged = time.perf_counter()
        supported = answerability_judge().probability(question, [(e.score, e.text) for e in evidence])
        timings["judge_s"] = round(time.perf_counter() - judged, 3)
        if supported < settings.answerability_threshold:
            answer = correction(question, evidence, retriever.embedder, settings=settings)
            yield _finished(answer, analysis, evidence, passages, {"supported": round(supported, 4)}, notes,
                            timings, started, model().name, settings)
            return
    loaded = model()
    # Undated passages still get the time guide line: without it the 1.5B refused two gold questions
    # and obeyed a planted instruction (tests/robustness/test_hostile.py) it otherwise ignores.
    messages = build_messages(question, evidence, in_time_order=settings.date_order and analysis.temporal,
                              yes_no=settings.yes_no_verdict and analysis.shape == YES_NO)
    draft = ""
    # The turn ends when this block is left: at the end of the reply, or wherever the reader stops
    # (closing this generator, from any thread, ends it and frees the model within a token).
    with turn(loaded) as llm:
        yield _ModelTurn(llm)
        for ahead in llm.waiting():
            yield Stage(WAITING, evidence, ahead=ahead)
        timings["model_wait_s"] = round(time.perf_counter() - started - timings["retrieve_s"] - timings["evidence_s"], 3)
        read_before = getattr(llm, "tokens_read", None)
        prefix, kind, margins = opening(messages, analysis, evidence, llm, settings)
        held = ""  # text that could still turn into the refusal mark is not shown yet
        for delta in llm.stream(messages, max_tokens=settings.max_tokens, temperature=settings.temperature,
                                prefix=prefix):
            if not draft:
                timings["first_token_s"] = round(time.perf_counter() - started, 3)
                yield Stage(WRITING, evidence)
            draft += delta
            held += delta
            if _could_be_refusal(draft):
                continue
            if held:
                yield held
                held = ""
    if kind in (VERDICT, OPTION) and is_refusal(draft[len(prefix):]):
        answer = verdict_only(question, prefix, evidence, retriever.embedder, settings=settings,
                              holding=prefix if kind == OPTION else "")
    else:
        answer = finish(question, draft, evidence, retriever.embedder, settings=settings)
    # An answer the model would rather have refused streams like any other; the final `Answer` (which
    # the front ends show in its place) is a refusal when it is not grounded.
    if kind == UNSURE and not answer.refused and not grounded(question, answer.text, evidence, settings):
        answer = refusal(question, evidence, retriever.embedder, settings=settings)
    if read_before is not None:  # the local model: what it read, and the prompt's whole length
        timings["prompt_tokens"] = llm.tokens_read - read_before
        timings["prompt_length"] = llm.last_prompt_tokens
    if supported is not None:
        margins["supported"] = round(supported, 4)
    yield _finished(answer, analysis, evidence, passages, margins, notes, timings, started, llm.name, settings)


def _finished(answer: Answer, analysis: Question, evidence: list[Evidence], passages: list[Passage],
              margins: dict[str, float], notes: list[str], timings: dict[str, float], started: float, model: str,
              settings: Settings) -> Answer:
    answer.passages = passages
    answer.timings = {**timings, "total_s": round(time.perf_counter() - started, 3)}
    answer.model = model
    answer.margins = margins
    answer.notes = notes
    # A refusal that quotes a close sentence still has relevant evidence: its events are the answer.
    if settings.timelines and analysis.timeline and evidence and (not answer.refused or answer.citations):
        with_timeline(answer, evidence)
    return answer


TIMELINE_LEAD = "What the articles report, in date order:"


def with_timeline(answer: Answer, evidence: list[Evidence]) -> None:
    """Give `answer` its timeline: every evidence sentence as a dated event, each cited (so each
    line opens its source like the answer's own citations do). The 1.5B refuses most "how did …
    unfold" questions; then the timeline is the whole answer, under `TIMELINE_LEAD`."""
    if answer.refused:
        answer.text, answer.refused, answer.citations = TIMELINE_LEAD, False, []
    answer.timeline = build_timeline(evidence)
    cited = {c.n: c for c in answer.citations}
    for event in answer.timeline:
        e = evidence[event.n - 1]
        cited.setdefault(event.n, _citation(event.n, e, (e.start, e.end)))
    answer.citations = sorted(cited.values(), key=lambda c: c.n)


# Why a reply was made to open with a given text (`opening`).
VERDICT, OPTION, UNSURE = "verdict", "option", "unsure"


def opening(messages: list[dict[str, str]], analysis: Question, evidence: list[Evidence], llm: LLM,
            settings: Settings) -> tuple[str, str, dict[str, float]]:
    """The text the reply must open with ("" = the model's own choice), why (VERDICT: Yes/No read
    from the logits; OPTION: an either/or question's option; UNSURE: a refusal the model is not sure
    of, answered after all) and the logit margins it was read from."""
    if settings.yes_no_verdict and analysis.shape == YES_NO:
        verdict, margins = yes_or_no(messages, llm, settings)
        return verdict, VERDICT if verdict else "", margins
    start, margins = answer_or_refuse(messages, llm, settings)
    if settings.either_or_choice and analysis.options and margins.get("refusal", 0) > 0:
        option, scores = choose_option(messages, llm, analysis.options, evidence)
        if option:
            return option, OPTION, {**margins, **scores}
    return start, UNSURE if start else "", margins


def yes_or_no(messages: list[dict[str, str]], llm: LLM, settings: Settings) -> tuple[str, dict[str, float]]:
    """For a yes/no question: the word the answer must open with, and the logit gaps it was read from.

    Asked to write freely, the 1.5B refused nearly every MultiHop-RAG comparison and time question;
    its logits still rank Yes and No usefully. The gap is compared with `yes_no_bias`, and the
    question is refused only when the refusal mark beats both by `yes_no_refusal_margin` (both 0:
    no other values did better on the dev sample). "" leaves the reply to the model (a backend that
    cannot score words, or a refusal).
    """
    logits = llm.first_word_logits(messages, ["Yes", "No", REFUSAL_MARK.split()[0]])
    if logits is None:
        return "", {}
    yes, no, refuse = logits
    margins = {"yes_no": round(yes - no, 3), "refusal": round(refuse - max(yes, no), 3)}
    if margins["refusal"] > settings.yes_no_refusal_margin:
        return "", margins
    return ("Yes" if margins["yes_no"] > settings.yes_no_bias else "No"), margins


def answer_or_refuse(messages: list[dict[str, str]], llm: LLM, settings: Settings) -> tuple[str, dict[str, float]]:
    """For a fact question: "" to let the model reply as it likes, or the token its answer must open
    with when the model would refuse, but not by more than `refusal_margin` (logits) over answering
    (0 turns this off).

    The 1.5B opens with the refusal mark on answerable questions whose answer sentence is in front of
    it (and quotes that sentence when its refusal shows the closest one); the logit gap between the
    refusal and its best other opening separates those from the questions the articles do not answer
    (see docs/question-rules.md: "Refusals the model is not sure of"). A forced answer is checked like any other:
    its citations must be supported by their evidence."""
    if settings.refusal_margin <= 0:
        return "", {}
    refusal_word = REFUSAL_MARK.split()[0]
    logits = llm.first_word_logits(messages, [refusal_word])
    other = llm.best_other_start(messages, [refusal_word]) if logits is not None else None
    if other is None:
        return "", {}
    start, best = other
    margin = round(logits[0] - best, 3)
    return (start if 0 < margin <= settings.refusal_margin else ""), {"refusal": margin}


def choose_option(messages: list[dict[str, str]], llm: LLM, options: list[str],
                  evidence: list[Evidence]) -> tuple[str, dict[str, float]]:
    """For "Was it X or Y?" that the model would refuse: the option its answer opens with, or "".

    The 1.5B refused four of six such questions whose answer was in front of it. Only options the
    evidence holds word for word ("end of the Permian", leading article aside) compete; among them,
    the one the model finds likelier as the opening of its reply (log-probability) wins."""
    present = [o for o in options if any(_option_phrase(o) in _option_phrase(e.text) for e in evidence)]
    if not present:
        return "", {}
    openings = [o[:1].upper() + o[1:] for o in present]
    scores = [llm.reply_logprob(messages, o) for o in openings]
    if None in scores:
        return "", {}
    best = int(np.argmax(scores))
    return openings[best], {"option": round(max(scores) - min(scores), 3)}


def _option_phrase(text: str) -> str:
    words = _WORD.findall(text.lower())
    return " " + " ".join(words[1:] if words[:1] and words[0] in ("the", "a", "an") else words) + " "


def grounded(question: str, text: str, evidence: list[Evidence], settings: Settings) -> bool:
    """Whether what the answer adds to the question comes from the evidence: at least
    `grounding_min_share` of its content words that the question lacks occur in the evidence (an
    answer that adds nothing is not grounded). Checks the answers the model would rather have refused."""
    new = _content_words(strip_markers(text)) - _content_words(question)
    if not new:
        return False
    found = set().union(*(_content_words(e.text) for e in evidence)) if evidence else set()
    return len(new & found) / len(new) >= settings.grounding_min_share


def _could_be_refusal(draft: str) -> bool:
    head = draft.lstrip().upper()
    return REFUSAL_MARK.startswith(head[: len(REFUSAL_MARK)]) or bool(_REFUSAL_PHRASES.match(draft))


# --- turning the model's draft into a cited answer -------------------------

def is_refusal(draft: str) -> bool:
    """The refusal mark or phrase, or a draft with no content word at all (" [1]", "and [2][3]")."""
    text = draft.strip()
    if not _content_words(strip_markers(text)):
        return True
    return REFUSAL_MARK in text.upper() or (bool(_REFUSAL_PHRASES.match(text)) and not _MARKERS.search(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer, each keeping the [n] markers that follow its full stop."""
    sentences: list[str] = []
    for piece in (text[a:b] for a, b in sentence_spans(text)):
        leading = re.match(r"^((?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+)", piece)
        if leading and sentences:
            sentences[-1] += " " + leading.group(1).strip()
            piece = piece[leading.end():]
        if piece.strip():
            sentences.append(piece.strip())
    return sentences


def cited_numbers(sentence: str, n_passages: int) -> list[int]:
    """Valid passage numbers cited in a sentence, in order, without repeats."""
    numbers: list[int] = []
    for group in _MARKERS.findall(sentence):
        for raw in re.split(r"[,;]", group):
            n = int(raw)
            if 1 <= n <= n_passages and n not in numbers:
                numbers.append(n)
    return numbers


def strip_markers(sentence: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(_MARKERS.sub(" ", sentence).split()))


def finish(question: str, draft: str, evidence: list[Evidence], embedder: Embedder, *,
           settings: Settings) -> Answer:
    """The cited answer: every [n] checked against evidence n (kept only where it supports the
    sentence), uncited claims attributed where a piece of evidence supports them, the rest
    `unsupported`. Support is the cosine similarity of sentence and evidence, or the share of the
    sentence's content words found in it, against the `verify_*` and `attribution_*` thresholds."""
    if is_refusal(draft):
        return refusal(question, evidence, embedder, settings=settings)
    sentences = split_sentences(draft)
    claims = [strip_markers(s) for s in sentences]
    cosine, share = _support(claims, [e.text for e in evidence], embedder)

    out_sentences: list[str] = []
    unsupported: list[str] = []
    citations: dict[int, Citation] = {}
    checked = supported = 0
    for i, (sentence, claim) in enumerate(zip(sentences, claims)):
        numbers = cited_numbers(sentence, len(evidence))
        if numbers and _checkable(claim):
            kept = [n for n in numbers if _supports(cosine[i, n - 1], share[i, n - 1], settings.verify_min_similarity,
                                                    settings.verify_min_word_share)]
            checked, supported = checked + len(numbers), supported + len(kept)
            numbers = kept
        if not numbers and _is_claim(claim):
            # Uncited, or every number wrong (a small model miscounts ten numbered sentences): the
            # evidence that supports the claim best, if it supports it well enough.
            min_similarity, min_share = settings.attribution_min_similarity, settings.attribution_min_word_share
            n = int(np.argmax(np.maximum(cosine[i] / min_similarity, share[i] / min_share)))
            if _supports(cosine[i, n], share[i, n], min_similarity, min_share):
                numbers = [n + 1]
            else:
                unsupported.append(claim)
        for n in numbers:
            citations.setdefault(n, _citation(n, evidence[n - 1], _supporting_sentence(evidence[n - 1], claim)))
        out_sentences.append(_with_markers(claim, numbers))
    text = " ".join(out_sentences)
    return Answer(question, text, refused=False, citations=sorted(citations.values(), key=lambda c: c.n),
                  passages=[e.passage for e in evidence], evidence=evidence, unsupported=unsupported,
                  citations_checked=checked, citations_supported=supported)


def refusal(question: str, evidence: list[Evidence], embedder: Embedder, *, settings: Settings) -> Answer:
    """The model's refusal, with what the articles do say nearby: the evidence sentence closest to
    the question (cosine at least `closest_min_similarity`), quoted and cited. A question built on a
    false premise ("Why did X veto the ban?") then learns what the articles report instead."""
    answer = Answer(question, REFUSAL, refused=True, passages=[e.passage for e in evidence], evidence=evidence)
    citation = closest_sentence(question, evidence, embedder, settings=settings)
    if citation is not None:
        answer.text = f"{REFUSAL_LEAD} The closest they come: “{citation.quote}” [{citation.n}]"
        answer.citations = [citation]
    return answer


CORRECTION_LEAD = "The articles do not say that."


def correction(question: str, evidence: list[Evidence], embedder: Embedder, *, settings: Settings) -> Answer:
    """The reply to a question the answerability judge finds the evidence does not support (a false
    premise, or a question the articles do not answer): they do not say that, and what they report
    nearest to it (the evidence sentence closest to the question, quoted and cited, as a refusal
    gives it); the plain refusal when nothing is near."""
    answer = refusal(question, evidence, embedder, settings=settings)
    if answer.citations:
        citation = answer.citations[0]
        answer.text = f"{CORRECTION_LEAD} What they report nearest to it: “{citation.quote}” [{citation.n}]"
    return answer


def verdict_only(question: str, verdict: str, evidence: list[Evidence], embedder: Embedder, *,
                 settings: Settings, holding: str = "") -> Answer:
    """A yes/no (or either/or) answer whose model wrote nothing after the verdict but the refusal
    mark: the verdict, with the evidence sentence closest to the question (among those `holding`
    the chosen option) as what it rests on."""
    answer = Answer(question, f"{verdict}.", refused=False, passages=[e.passage for e in evidence], evidence=evidence)
    citation = closest_sentence(question, evidence, embedder, settings=settings, holding=holding)
    if citation is not None:
        answer.text = f"{verdict}: “{citation.quote}” [{citation.n}]"
        answer.citations = [citation]
    return answer


def closest_sentence(question: str, evidence: list[Evidence], embedder: Embedder, *,
                     settings: Settings, holding: str = "") -> Citation | None:
    """The evidence sentence closest to the question (among those holding the phrase `holding`), if
    at least `closest_min_similarity` (cosine) and `refusal_shows_closest` is on; never a sentence
    that is itself a question."""
    spans = [(n, e.start + a, e.start + b) for n, e in enumerate(evidence, 1) for a, b in sentence_spans(e.text)
             if _checkable(e.text[a:b]) and not e.text[a:b].endswith("?")  # a question is no fact
             and (not holding or _option_phrase(holding) in _option_phrase(e.text[a:b]))]
    if not settings.refusal_shows_closest or not spans:
        return None
    vectors = embedder.embed([question] + [evidence[n - 1].passage.text[a:b] for n, a, b in spans])
    similarity = vectors[1:] @ vectors[0]
    best = int(np.argmax(similarity))
    if similarity[best] < settings.closest_min_similarity:
        return None
    n, a, b = spans[best]
    return _citation(n, evidence[n - 1], (a, b))


def _is_claim(sentence: str) -> bool:
    return bool(_WORD.search(sentence))


def _checkable(claim: str) -> bool:
    """Too few content words ("Yes.", "Both do.") to test against a passage: the citation stands."""
    return len(_content_words(claim)) >= 3


def _supports(cosine: float, share: float, min_similarity: float, min_share: float) -> bool:
    return cosine >= min_similarity or share >= min_share


def _with_markers(claim: str, numbers: list[int]) -> str:
    """`claim [1][2].`: markers go before the sentence's closing punctuation."""
    if not numbers:
        return claim
    markers = "".join(f"[{n}]" for n in numbers)
    body, end = re.match(r"(.*?)([.!?]*)$", claim, re.DOTALL).groups()
    return f"{body} {markers}{end}"


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _STOPWORDS


def _support(claims: list[str], texts: list[str], embedder: Embedder) -> tuple[np.ndarray, np.ndarray]:
    """(cosine similarity, share of the claim's content words found in the text), claims × texts."""
    if not claims or not texts:
        return np.zeros((len(claims), len(texts))), np.zeros((len(claims), len(texts)))
    vectors = embedder.embed(claims + texts)
    cosine = vectors[: len(claims)] @ vectors[len(claims):].T
    text_words = [_content_words(t) for t in texts]
    share = np.zeros_like(cosine)
    for i, claim in enumerate(claims):
        words = _content_words(claim)
        if words:
            share[i] = [len(words & tw) / len(words) for tw in text_words]
    return cosine, share


def _citation(n: int, evidence: Evidence, span: tuple[int, int]) -> Citation:
    """Evidence `n`, quoting its passage's text at `span` (offsets in the passage text)."""
    a, b = span
    passage = evidence.passage
    return Citation(n=n, doc_id=passage.doc_id, title=passage.title, text=passage.text, start=passage.start,
                    end=passage.end, source=passage.source, published_at=passage.published_at,
                    quote=passage.text[a:b], quote_start=passage.start + a, quote_end=passage.start + b,
                    similarity=round(passage.similarity, 3))


def _supporting_sentence(evidence: Evidence, claim: str) -> tuple[int, int]:
    """The span (in the passage text) of the evidence's sentence sharing most words with the claim."""
    claim_words = _content_words(claim)
    best = (-1.0, evidence.start, evidence.end)
    for a, b in sentence_spans(evidence.text):
        words = _content_words(evidence.text[a:b])
        if words:
            overlap = len(words & claim_words) / (len(words) ** 0.5)
            if overlap > best[0]:
                best = (overlap, evidence.start + a, evidence.start + b)
    return best[1], best[2]
