"""newsqa chat UI: streamed cited answers, a source viewer, scope, export, and the corpus.

Run `make demo`, or `python app.py [--host H] [--port P] [--auth user:password]`. Binds to
127.0.0.1 unless told otherwise. Answering goes through `qa.pipeline` like the CLI; this file only
wires it to Gradio and renders HTML, escaping every piece of article or model text it shows.
"""

from __future__ import annotations

import argparse
import html
import ipaddress
import re
import sys
import tempfile
import threading
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import qa  # noqa: F401  (goes offline before gradio loads)
import gradio as gr

from qa import pipeline
from qa.config import ConfigError, Settings, load_settings
from qa.pipeline import (READING, SEARCHING, WAITING, WRITING, Evidence, IndexProblem, JudgeUnavailable, LLMError,
                         PeriodError, QuestionError, Response, Stage, Turn, byline, is_url, store_upload, to_markdown, with_days)

FAILURES = (QuestionError, LLMError, IndexProblem, ConfigError, PeriodError, JudgeUnavailable)
REFUSAL_HINT = "Try rephrasing, widen the scope, or add articles that cover it in the Corpus tab."
_MARKER = re.compile(r"\[(\d+)\]")
# Characters Markdown would act on (besides <, > and &, which become entities): shown literally.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|~-])")

CSS = """
.cite { display: inline-block; min-width: 1.4em; padding: 0 .35em; margin: 0 .1em; border-radius: .7em;
        background: var(--color-accent-soft); color: var(--color-accent); font-size: .8em; font-weight: 600;
        text-align: center; text-decoration: none; cursor: pointer; }
.sources { margin-top: .6em; font-size: .85em; }
.sources a { display: block; text-decoration: none; color: var(--body-text-color); cursor: pointer; }
.sources a:hover { text-decoration: underline; }
.evidence { border-top: 1px solid var(--border-color-primary); padding-top: .4em; }
.rewritten, .muted { color: var(--body-text-color-subdued); font-size: .85em; margin-bottom: .3em; }
.refusal { border-left: 3px solid var(--color-yellow-500, #eab308); padding-left: .6em; font-style: italic; }
.refusal .hint { font-style: normal; font-size: .85em; color: var(--body-text-color-subdued); }
.timeline { margin-top: .6em; border-left: 2px solid var(--color-accent); padding-left: .6em; }
.timeline ol { list-style: none; padding: 0; margin: .2em 0; }
.timeline li { margin: .25em 0; font-size: .9em; }
.timeline time { font-weight: 600; font-variant-numeric: tabular-nums; margin-right: .3em; white-space: nowrap; }
.timeline .event-source { white-space: nowrap; }
.unsupported { font-size: .8em; color: var(--color-red-500, #ef4444); margin-top: .4em; }
.source-card { display: none; }
.source-card.shown { display: block; }
.source-card header { font-weight: 600; }
.source-card .meta { font-size: .85em; color: var(--body-text-color-subdued); margin: .2em 0 .6em; }
.source-card .passage { white-space: pre-wrap; line-height: 1.5; }
.source-card mark { background: #fde68a; color: #111; padding: 0 .1em; }
"""
# Clicking a citation chip or a source link shows that source's card; nothing reaches the server.
HEAD = """<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href^="#src-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const id = link.getAttribute('href').slice(1);
  document.querySelectorAll('.source-card').forEach((card) => card.classList.toggle('shown', card.id === id));
  const card = document.getElementById(id);
  if (card) card.scrollIntoView({block: 'nearest'});
}, true);
</script>"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def literal(text: str) -> str:
    """Model or article text for the chat, where neither Markdown nor the browser will interpret it.
    Markdown's characters become numeric entities, not backslash escapes: inside an HTML block
    Markdown does not run, and a backslash there would show ("mid\\-February")."""
    return _MARKDOWN.sub(lambda m: f"&#{ord(m[1])};", html.escape(str(text), quote=False))


# --- rendering ---------------------------------------------------------------

def source_id(turn_number: int, n: int) -> str:
    return f"src-{turn_number}-{n}"


def render_answer(turn: Turn, number: int) -> str:
    answer = turn.answer
    parts = []
    if turn.standalone != turn.question:
        parts.append(f'<div class="rewritten">Searched for: {literal(turn.standalone)}</div>')
    parts.extend(f'<div class="rewritten">{literal(note)}</div>' for note in answer.notes)
    cited = {c.n for c in answer.citations}
    body = literal(answer.text).replace("&#91;", "[").replace("&#93;", "]")
    body = _MARKER.sub(lambda m: _chip(number, int(m[1])) if int(m[1]) in cited else "", body)
    if answer.refused:
        # A refusal may quote what the articles say nearby, with its chip and source.
        hint = "" if "Try rephrasing" in answer.text else f'<div class="hint">{REFUSAL_HINT}</div>'
        parts.append(f'<div class="refusal">{body}{hint}</div>')
    else:
        parts.append(f'<div class="answer">{body}</div>')
    if answer.timeline:
        parts.append(render_timeline(answer.timeline, number))
    if answer.unsupported:
        parts.append('<div class="unsupported">Not backed by any passage: '
                     + " · ".join(literal(s) for s in answer.unsupported) + "</div>")
    if answer.citations and not answer.timeline:  # a timeline's lines are its sources, each with its chip
        links = "".join(f'<a href="#{source_id(number, c.n)}">[{c.n}] {literal(c.title)}'
                        f'{literal(_meta(c))} · relevance {c.similarity:.2f}</a>'
                        for c in answer.citations)
        parts.append(f'<div class="sources">{links}</div>')
    return "\n".join(parts)


def render_timeline(events, number: int) -> str:
    """The timeline view: one dated, cited line per event, earliest first."""
    items = "".join(
        f'<li><time>{event.day or "undated"}</time>'
        + (f' <span class="muted">({literal(event.named)})</span>' if event.named else "")
        + f" {literal(event.text)} {_chip(number, event.n)}"
        + f'<span class="muted event-source"> — {literal(_event_source(event))}</span></li>' for event in events)
    return f'<div class="timeline"><div class="muted">Timeline</div><ol>{items}</ol></div>'


def _event_source(event) -> str:
    """The outlet of an event's article, with the article's date when the event's own day differs."""
    published = event.published_at[:10]
    return " · ".join(part for part in (event.source, published if published != event.day else "") if part) or event.doc_id


def _chip(number: int, n: int) -> str:
    return f'<a class="cite" href="#{source_id(number, n)}" title="Show source {n}">{n}</a>'


def _meta(item) -> str:
    """" — Outlet · date" of a citation or passage, or ""."""
    return f" — {byline(item)}" if byline(item) else ""


def render_sources(turns: list[Turn]) -> str:
    """A card per cited source of the whole conversation; the latest answer's first one is shown."""
    cards = []
    for number, turn in enumerate(turns, start=1):
        for c in turn.answer.citations:
            shown = number == len(turns) and c is turn.answer.citations[0]
            start = max(0, min(len(c.text), c.quote_start - c.start))
            end = max(start, min(len(c.text), c.quote_end - c.start))
            cards.append(
                f'<article class="source-card{" shown" if shown else ""}" id="{source_id(number, c.n)}">'
                f"<header>[{c.n}] {esc(c.title)}</header>"
                f'<div class="meta">{_card_meta(c, number)}</div>'
                f'<div class="passage">{esc(c.text[:start])}<mark>{esc(c.text[start:end])}</mark>'
                f"{esc(c.text[end:])}</div></article>")
    if not cards:
        return '<p class="muted">Sources appear here. Click a citation such as <b>1</b> to see its passage.</p>'
    return "\n".join(cards)


def _card_meta(c, number: int) -> str:
    parts = [esc(byline(c))] if byline(c) else []
    parts += [f"relevance {c.similarity:.2f}", f"<code>{esc(c.doc_id)}</code>, characters {c.start}–{c.end}",
              f"question {number}"]
    return " · ".join(parts)


def render_progress(stage: Stage, draft: str, number: int) -> str:
    """An answer being written: the stage, the draft so far, and the evidence the model reads, each
    sentence opening its card in the source panel (the reader can read them while the model writes)."""
    n_articles = f"{stage.articles} article{'s' * (stage.articles != 1)}"
    ahead = f"{stage.ahead} question{'s' * (stage.ahead != 1)}"
    status = {SEARCHING: "Searching the articles…", READING: f"Reading {n_articles}…",
              WAITING: f"Waiting: {ahead} ahead. The evidence is below meanwhile.",
              WRITING: f"Writing, from {n_articles}…"}[stage.name]
    parts = [f'<div class="stage muted">{status}</div>']
    if draft:
        parts.append(f'<div class="draft">{literal(draft)}</div>')
    if stage.evidence:
        quotes = "".join(f'<a href="#{source_id(number, n)}">[{n}] “{literal(with_days(" ".join(e.text.split()), e.passage.published_at))}”'
                         f'{literal(_meta(e.passage))}</a>' for n, e in enumerate(stage.evidence, start=1))
        parts.append(f'<div class="sources evidence">{quotes}</div>')
    return "\n".join(parts)


def render_evidence_cards(evidence: list[Evidence], number: int) -> str:
    """A card per evidence sentence of answer `number` (ids as its citations will have), the first shown."""
    cards = []
    for n, e in enumerate(evidence, start=1):
        p = e.passage
        cards.append(
            f'<article class="source-card{" shown" if n == 1 else ""}" id="{source_id(number, n)}">'
            f"<header>[{n}] {esc(p.title)}</header>"
            f'<div class="meta">{esc(byline(p) + " · ") if byline(p) else ""}'
            f'<code>{esc(p.doc_id)}</code>, characters {e.article_start}–{e.article_end}</div>'
            f'<div class="passage">{esc(p.text[:e.start])}<mark>{esc(e.text)}</mark>{esc(p.text[e.end:])}</div></article>')
    return "\n".join(cards)


def chat_messages(turns: list[Turn]) -> list[dict]:
    messages = []
    for number, turn in enumerate(turns, start=1):
        messages += [{"role": "user", "content": literal(turn.question)},
                     {"role": "assistant", "content": render_answer(turn, number)}]
    return messages


def load_turns(data: list | None) -> list[Turn]:
    turns = []
    for item in data or []:
        try:
            turns.append(Turn.from_dict(item))
        except (KeyError, TypeError):
            continue  # saved by an older version: dropped rather than failing the page
    return turns


# --- chat ----------------------------------------------------------------------

@dataclass(eq=False)
class _Question:
    """A question in flight for one client; `stop()` ends it wherever it is."""

    response: Response | None = None
    stopped: bool = False

    def stop(self) -> None:
        self.stopped = True
        if self.response is not None:
            self.response.stop()


class InFlight:
    """The questions each client (a browser page or an API client: one session) has in flight, so
    that a client's stop or departure frees the model at once, and no client holds more than
    `max_questions_per_client` of them (the others' questions queue behind only so many)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_client: dict[str, list[_Question]] = {}

    def start(self, client: str) -> _Question:
        with self._lock:
            mine = self._by_client.setdefault(client, [])
            if len(mine) >= SETTINGS.max_questions_per_client:
                raise TooManyQuestions(
                    f"You already have {len(mine)} question{'s' * (len(mine) != 1)} being answered; ask again "
                    f"when {'one' if len(mine) != 1 else 'it'} is done (QA_MAX_QUESTIONS_PER_CLIENT).")
            mine.append(question := _Question())
            return question

    def finish(self, client: str, question: _Question) -> None:
        with self._lock:
            mine = self._by_client.get(client, [])
            if question in mine:
                mine.remove(question)
            if not mine:
                self._by_client.pop(client, None)

    def stop(self, client: str) -> None:
        """End every question `client` has in flight (its stop button, or its page closed)."""
        with self._lock:
            mine = list(self._by_client.get(client, []))
        for question in mine:
            question.stop()


class TooManyQuestions(RuntimeError):
    """A client asked more questions at once than `max_questions_per_client`."""


IN_FLIGHT = InFlight()


def client_of(request: gr.Request | None) -> str:
    return getattr(request, "session_hash", None) or "local"


def stop_questions(request: gr.Request) -> None:
    IN_FLIGHT.stop(client_of(request))


def respond(message: str, saved: list, scope: list[str], top_k: int, hybrid: bool,
            temperature: float, fast: bool = False, since: str = "", until: str = "",
            conversation_id: str = "", request: gr.Request = None) -> Iterator[tuple]:
    """Stream one answer: (chat, saved conversation, sources panel, input box). The answer is logged
    under `conversation_id` (history), so the conversation can be reopened."""
    turns = load_turns(saved)
    question = message.strip()
    if not question:
        yield chat_messages(turns), gr.skip(), gr.skip(), ""
        return
    chat = chat_messages(turns) + [{"role": "user", "content": literal(question)},
                                   {"role": "assistant", "content": '<span class="muted">Searching…</span>'}]
    client = client_of(request)
    try:
        asked = IN_FLIGHT.start(client)
    except TooManyQuestions as error:
        chat[-1] = {"role": "assistant", "content": f'<div class="unsupported">⚠️ {literal(error)}</div>'}
        yield chat, gr.skip(), gr.skip(), message
        return
    try:
        yield chat, gr.skip(), gr.skip(), ""
        yield from _answer(asked, question, turns, chat, scope, top_k, hybrid, temperature, fast, since, until,
                           conversation_id)
    finally:
        asked.stop()  # closed mid-answer (stop, page gone): the model is free for the next question now
        IN_FLIGHT.finish(client, asked)


def _answer(asked: _Question, question: str, turns: list[Turn], chat: list[dict], scope, top_k, hybrid,
            temperature, fast, since, until, conversation_id) -> Iterator[tuple]:
    try:
        standalone = pipeline.standalone_question(SETTINGS, question, turns)
        header = f'<div class="rewritten">Searched for: {literal(standalone)}</div>' if standalone != question else ""
        outlets, doc_ids = split_scope(scope)
        response = pipeline.stream_answer(SETTINGS, standalone, doc_ids=pipeline.scope_doc_ids(SETTINGS, outlets, doc_ids),
                                          period=pipeline.period_between(since, until), typed=question,
                                          conversation_id=conversation_id or None, front_end="ui",
                                          top_k=int(top_k), hybrid=bool(hybrid), temperature=float(temperature),
                                          fast=bool(fast))
        asked.response = response
        if asked.stopped:
            return
        number, stage, draft = len(turns) + 1, Stage(SEARCHING), ""
        for item in response:
            cards = gr.skip()
            if isinstance(item, Stage):
                if item.name == READING:
                    cards = render_evidence_cards(item.evidence, number)
                stage = item
            else:
                draft += item
            chat[-1] = {"role": "assistant", "content": header + render_progress(stage, draft, number)}
            yield chat, gr.skip(), cards, ""
        if response.answer is None:  # stopped
            return
        turns.append(Turn(question, standalone, response.answer))
    except FAILURES as error:
        chat[-1] = {"role": "assistant", "content": f'<div class="unsupported">⚠️ {literal(error)}</div>'}
        yield chat, gr.skip(), gr.skip(), ""
        return
    yield chat_messages(turns), [turn.to_dict() for turn in turns], render_sources(turns), ""


def new_conversation_id() -> str:
    return uuid.uuid4().hex


# --- history ---------------------------------------------------------------------

def history_choices() -> list[tuple[str, str]]:
    """The logged conversations, the latest first, labelled by when they started and their first question."""
    try:
        found = pipeline.history.conversations(SETTINGS)
    except pipeline.history.HistoryError as error:
        gr.Warning(str(error))
        return []
    return [(f"{c.started_at[:16].replace('T', ' ')} UTC · {c.first_question}"
             + (f" ({c.turns} questions)" if c.turns > 1 else ""), c.id) for c in found]


def reopen(conversation_id: str | None) -> tuple:
    """A logged conversation back in the chat, with its sources; new questions continue it.
    (chat, saved conversation, sources panel, conversation id)"""
    unchanged = gr.skip(), gr.skip(), gr.skip(), gr.skip()
    if not conversation_id:
        gr.Warning("Choose a conversation to reopen first.")
        return unchanged
    try:
        entries = pipeline.history.conversation(SETTINGS, conversation_id)
    except pipeline.history.HistoryError as error:
        gr.Warning(str(error))
        return unchanged
    turns = load_turns([entry.turn_dict() for entry in entries])
    return chat_messages(turns), [turn.to_dict() for turn in turns], render_sources(turns), conversation_id


def split_scope(scope: list[str] | None) -> tuple[list[str], list[str]]:
    scope = scope or []
    return ([s.removeprefix("outlet:") for s in scope if s.startswith("outlet:")],
            [s.removeprefix("doc:") for s in scope if s.startswith("doc:")])


def scope_choices() -> list[tuple[str, str]]:
    articles = pipeline.articles(SETTINGS)
    outlets = sorted({a["source"] for a in articles if a["source"]})
    return ([(f"Outlet: {name}", f"outlet:{name}") for name in outlets]
            + [(f"Article: {a['title'] or a['doc_id']}", f"doc:{a['doc_id']}") for a in articles])


def date_range_info() -> str:
    """The publication days the index spans, as a hint beside the date range."""
    days = sorted(a["published_at"][:10] for a in pipeline.articles(SETTINGS) if a["published_at"])
    return f"Articles from {days[0]} to {days[-1]}." if days else "No article in the index has a date."


def example_questions() -> list[str]:
    """A question per recent article of the loaded corpus (any corpus: no fixed list)."""
    recent = sorted(pipeline.articles(SETTINGS), key=lambda a: a["published_at"], reverse=True)[:3]
    # "the The New York Times article" reads badly: an outlet's own "The" goes.
    return [f"What does the {re.sub(r'^the ', '', a['source'], flags=re.IGNORECASE)} article “{a['title']}” report?"
            if a["source"]
            else f"What does “{a['title']}” report?" for a in recent if a["title"]]


def export(saved: list) -> str | None:
    turns = load_turns(saved)
    if not turns:
        gr.Warning("Nothing to export yet: ask a question first.")
        return None
    path = Path(tempfile.mkdtemp(prefix="newsqa-")) / "newsqa-conversation.md"
    path.write_text(to_markdown(turns), encoding="utf-8")
    return str(path)


def ask_api(question: str, doc_ids: list[str] | None = None, request: gr.Request = None) -> dict:
    """One question, answered in full: the `Answer` as JSON (answer, refused, citations, …)."""
    client = client_of(request)
    try:
        asked = IN_FLIGHT.start(client)
    except TooManyQuestions as error:
        raise gr.Error(str(error), print_exception=False) from None
    try:
        asked.response = pipeline.stream_answer(SETTINGS, question, doc_ids=doc_ids or None, front_end="api")
        answer = asked.response.final()
        if answer is None:
            raise gr.Error("the question was stopped", print_exception=False)
        return answer.to_dict()
    except FAILURES as error:
        raise gr.Error(str(error), print_exception=False) from None
    finally:
        asked.stop()
        IN_FLIGHT.finish(client, asked)


def search_api(query: str, top_k: int = 6, doc_ids: list[str] | None = None) -> list[dict]:
    """Retrieval only: the passages `qa search --json` prints."""
    try:
        passages = pipeline.search(SETTINGS, query, top_k=int(top_k), doc_ids=doc_ids or None)
    except FAILURES as error:
        raise gr.Error(str(error), print_exception=False) from None
    return [asdict(p) for p in passages]


# --- corpus ----------------------------------------------------------------------

def status_markdown() -> str:
    status = pipeline.index_status(SETTINGS)
    if not status["exists"]:
        return f"**No index yet** at `{status['index_dir']}`. Upload articles below to start."
    return (f"**{status['articles']:,} articles**, {status['chunks']:,} chunks in `{status['index_dir']}`  \n"
            f"Embedding: `{status['embedding']['model']}` · LLM: `{MODEL_NAME}`")


def article_rows() -> list[list]:
    return [[a["doc_id"], a["title"], a["source"], a["published_at"][:10], a["chunks"]]
            for a in pipeline.articles(SETTINGS)]


def corpus_views(log: str) -> tuple:
    doc_choices = [(f"{a['title'] or a['doc_id']} ({a['doc_id']})", a["doc_id"]) for a in pipeline.articles(SETTINGS)]
    return (status_markdown(), article_rows(), gr.update(choices=scope_choices()),
            gr.update(choices=doc_choices, value=[]), log)


READ_ONLY_REFUSAL = ("⚠️ This newsqa is read-only: articles cannot be added or removed here "
                     "(QA_READ_ONLY; on by default when the UI is served beyond this machine).")


def read_only(settings: Settings) -> bool:
    """Whether the UI may not change the corpus: the setting, or by default when it listens beyond loopback."""
    return settings.read_only == "true" or (settings.read_only == "auto" and not _is_loopback(settings.host))


def ingest_uploads(files: list[str] | None, urls: str = "", progress=gr.Progress()) -> tuple:
    """Ingest uploaded files and the web pages and feeds listed in `urls` (one a line)."""
    if read_only(SETTINGS):
        return corpus_views(READ_ONLY_REFUSAL)
    lines = [line.strip() for line in (urls or "").splitlines() if line.strip()]
    if not files and not lines:
        return corpus_views("Choose one or more files, or paste the URLs of pages or feeds, first.")
    stored: list[Path | str] = [line for line in lines if is_url(line)]
    notes = [f"⚠️ {line}: not a URL (http://… or https://…)" for line in lines if not is_url(line)]
    for file in files or []:
        path, problem = store_upload(Path(file), Path(file).name, SETTINGS.upload_dir,
                                     max_bytes=SETTINGS.max_upload_mb * 1_000_000)
        if problem:
            notes.append(f"⚠️ {problem}")
        else:
            stored.append(path)
    if stored:
        count = {"done": 0, "total": 0}

        def on_start(total: int) -> None:
            count["total"] = total
            progress((0, total), desc="Embedding articles", unit="articles")

        def on_progress(advance: int) -> None:
            count["done"] += advance
            progress((count["done"], count["total"]), desc="Embedding articles", unit="articles")

        try:
            result = pipeline.ingest(SETTINGS, stored, on_start=on_start, on_progress=on_progress,
                                     allow_local_urls=SETTINGS.ui_fetch_local)
        except IndexProblem as error:
            return corpus_views(f"⚠️ {error}")
        report = result.report
        notes.insert(0, f"Added {len(report.added)}, updated {len(report.updated)}, unchanged "
                        f"{len(report.unchanged)} article(s); {report.chunks_written} chunks written.")
        notes += [f"⚠️ {problem}" for problem in result.corpus.problems]
    return corpus_views("  \n".join(notes))


def remove_articles(doc_ids: list[str]) -> tuple:
    if read_only(SETTINGS):
        return corpus_views(READ_ONLY_REFUSAL)
    if not doc_ids:
        return corpus_views("Choose articles to remove first.")
    try:
        pipeline.remove(SETTINGS, doc_ids)
    except IndexProblem as error:
        return corpus_views(f"⚠️ {error}")
    return corpus_views(f"Removed {len(doc_ids)} article(s).")


# --- layout ------------------------------------------------------------------------

def build() -> gr.Blocks:
    with gr.Blocks(title="newsqa") as demo:
        saved = gr.BrowserState([], storage_key="newsqa-conversation")
        # The conversation's id in the history log; kept with the conversation, so a reload continues it.
        conversation_id = gr.BrowserState("", storage_key="newsqa-conversation-id")
        gr.Markdown("# newsqa\nAnswers from your news articles. Every claim cites the passage it comes from; "
                    "when the articles do not say, newsqa says so.")
        with gr.Tab("Ask"):
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Conversation", height=520, sanitize_html=True,
                                      feedback_options=None, elem_id="chat")
                    question = gr.Textbox(placeholder="Ask about the articles…", show_label=False,
                                          elem_id="question", submit_btn=True, stop_btn=True)
                    examples = example_questions()
                    if examples:
                        gr.Examples(examples, inputs=question, label="Examples")
                    with gr.Row():
                        clear = gr.Button("Clear chat", size="sm")
                        export_button = gr.Button("Export as Markdown", size="sm")
                    export_file = gr.File(label="Conversation", visible=False)
                    with gr.Accordion("History", open=False) as history_box:
                        past = gr.Dropdown([], label="Past conversations", elem_id="past",
                                           info="From the history log in the index folder (QA_HISTORY); a reopened "
                                                "conversation goes on where it stopped.")
                        reopen_button = gr.Button("Reopen", size="sm", elem_id="reopen")
                with gr.Column(scale=2):
                    scope = gr.Dropdown(scope_choices(), multiselect=True, label="Only these outlets or articles",
                                        info="Empty: the whole index.")
                    with gr.Row():
                        since = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", elem_id="since",
                                           info=date_range_info())
                        until = gr.Textbox(label="to", placeholder="YYYY-MM-DD", elem_id="until",
                                           info="Either may stay empty.")
                    sources = gr.HTML(render_sources([]), label="Source", elem_id="sources")
                    with gr.Accordion("Settings", open=False):
                        gr.Textbox(f"{SETTINGS.llm} · {MODEL_NAME}", label="Backend and model", interactive=False,
                                   info="Set with QA_LLM / QA_LOCAL_MODEL / QA_OPENAI_MODEL and restart.")
                        top_k = gr.Slider(1, 12, value=SETTINGS.top_k, step=1, label="Passages (top-k)",
                                          info=f"Default {SETTINGS.top_k} (QA_TOP_K)")
                        hybrid = gr.Checkbox(SETTINGS.hybrid, label="Hybrid search (BM25 + vectors)",
                                             info=f"Default {SETTINGS.hybrid} (QA_HYBRID)")
                        temperature = gr.Slider(0.0, 1.0, value=SETTINGS.temperature, step=0.05, label="Temperature",
                                                info=f"Default {SETTINGS.temperature} (QA_TEMPERATURE)")
                        fast = gr.Radio([("Accurate (1.5B)", False), ("Fast (0.5B)", True)], value=SETTINGS.fast,
                                        label="Local model", elem_id="fast",
                                        info="The fast one reads the evidence about twice as fast and is right less "
                                             "often (docs/how-it-works.md: Models). QA_FAST",
                                        visible=SETTINGS.llm == "local" and not SETTINGS.llm_model_path)
        editable = not read_only(SETTINGS)
        with gr.Tab("Corpus"):
            status = gr.Markdown(status_markdown(), elem_id="index-status")
            if not editable:
                gr.Markdown("Read-only: this newsqa is shared, so articles are added and removed on the server "
                            "(`qa ingest`, `qa ingest --prune`).", elem_id="read-only")
            uploads = gr.File(visible=editable, file_count="multiple", file_types=[".txt", ".md", ".html", ".jsonl"],
                              label=f"Add articles (.txt, .md, .html, .jsonl; up to {SETTINGS.max_upload_mb} MB each)",
                              elem_id="uploads")
            urls = gr.Textbox(label="Or web pages and RSS/Atom feeds, one URL a line", lines=2, visible=editable,
                              placeholder="https://news.example/feed.xml", elem_id="urls",
                              info="Fetched politely (robots.txt, time and size limits); a feed's new or "
                                   "changed items go in.")
            ingest_button = gr.Button("Ingest", variant="primary", elem_id="ingest", visible=editable)
            log = gr.Markdown(elem_id="corpus-log")
            table = gr.Dataframe(article_rows(), headers=["doc_id", "title", "outlet", "date", "chunks"],
                                 interactive=False, label="Indexed articles", wrap=True, elem_id="articles")
            with gr.Row(visible=editable):
                to_remove = gr.Dropdown([], multiselect=True, label="Remove articles", scale=4, elem_id="to-remove",
                                        visible=editable)
                remove_button = gr.Button("Remove", variant="stop", scale=1, elem_id="remove", visible=editable)

        # Questions run side by side up to the model, which serves them one at a time in the order
        # they reach it (`qa.llm.Turn`): each reader sees the evidence at once and its place in line.
        # Corpus changes take turns among themselves.
        chat_inputs = [question, saved, scope, top_k, hybrid, temperature, fast, since, until, conversation_id]
        chat_outputs = [chat, saved, sources, question]
        asking = question.submit(respond, chat_inputs, chat_outputs, api_visibility="private",
                                 concurrency_limit=None)
        # Stop ends the page's questions at once (the model stops within a token), then cancels the event.
        question.stop(stop_questions, None, None, cancels=[asking], api_visibility="private")
        demo.unload(stop_questions)  # a page closed mid-answer frees the model too
        clear.click(lambda: ([], [], render_sources([]), gr.update(visible=False), new_conversation_id()), None,
                    [chat, saved, sources, export_file, conversation_id], api_visibility="private")
        refresh_history = (lambda: gr.update(choices=history_choices()), None, past)
        asking.then(*refresh_history, api_visibility="private")
        history_box.expand(*refresh_history, api_visibility="private")
        reopen_button.click(reopen, past, [chat, saved, sources, conversation_id], api_visibility="private")
        export_button.click(export, saved, export_file, api_visibility="private").then(
            lambda path: gr.update(visible=path is not None), export_file, export_file, api_visibility="private")
        corpus_outputs = [status, table, scope, to_remove, log]
        ingest_button.click(ingest_uploads, [uploads, urls], corpus_outputs, api_visibility="private",
                            concurrency_id="corpus")
        remove_button.click(remove_articles, to_remove, corpus_outputs, api_visibility="private",
                            concurrency_id="corpus")
        demo.load(lambda data: (chat_messages(load_turns(data)), render_sources(load_turns(data))), saved,
                  [chat, sources], api_visibility="private")
        demo.load(lambda known: known or new_conversation_id(), conversation_id, conversation_id,
                  api_visibility="private")
        demo.load(lambda: corpus_views("")[:4], None, corpus_outputs[:4], api_visibility="private")
        gr.api(ask_api, api_name="ask", concurrency_limit=None)
        gr.api(search_api, api_name="search", concurrency_limit=None)
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", help=f"interface to bind (default {SETTINGS.host}; QA_HOST)")
    parser.add_argument("--port", type=int, help=f"port (default {SETTINGS.port}; QA_PORT)")
    parser.add_argument("--auth", metavar="USER:PASSWORD", help="require this login (QA_AUTH)")
    parser.add_argument("--chroma-url", metavar="URL", help="Chroma server holding the index (QA_CHROMA_URL)")
    parser.add_argument("--fast", action="store_true", default=None,
                        help="answer with the bundled 0.5B by default (QA_FAST)")
    parser.add_argument("--read-only", action="store_const", const="true", dest="read_only",
                        help="no adding or removing articles from the UI (QA_READ_ONLY; on by default "
                             "beyond loopback, QA_READ_ONLY=false to allow it there)")
    return parser.parse_args(argv)


def launch_options(settings: Settings) -> dict:
    """Gradio launch arguments; warns when the app is reachable from other machines without a login."""
    auth = None
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not (sep and user and password):
            raise ConfigError("auth: expected USER:PASSWORD")
        auth = (user, password)
    if not _is_loopback(settings.host) and auth is None:
        print(f"warning: serving on {settings.host} without a login; anyone who can reach this machine can "
              "read your articles. Add --auth USER:PASSWORD.", file=sys.stderr)
    return {"server_name": settings.host, "server_port": settings.port, "auth": auth, "share": False,
            "max_file_size": f"{settings.max_upload_mb}mb", "css": CSS, "head": HEAD}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _model_name() -> str:
    try:
        return pipeline.llm(SETTINGS).name
    except LLMError as error:
        print(f"warning: {error}", file=sys.stderr)
        return f"unavailable ({SETTINGS.llm})"


SETTINGS = load_settings()
MODEL_NAME = ""


def main(argv: list[str] | None = None) -> None:
    global SETTINGS, MODEL_NAME
    args = parse_args(argv)
    try:
        SETTINGS = load_settings(host=args.host, port=args.port, auth=args.auth, chroma_url=args.chroma_url,
                                 fast=args.fast, read_only=args.read_only)
        options = launch_options(SETTINGS)
    except ConfigError as error:
        sys.exit(f"error: {error}")
    MODEL_NAME = _model_name()  # load the model, the judges and the index before the first question
    try:
        pipeline.load_judges(SETTINGS)
    except JudgeUnavailable as error:
        sys.exit(f"error: {error}")
    try:
        pipeline.retriever(SETTINGS)
    except IndexProblem as error:
        print(f"warning: {error}", file=sys.stderr)
    build().queue(default_concurrency_limit=1).launch(**options)


if __name__ == "__main__":
    main()
