"""`qa`: the command line. Thin: parses flags, calls `qa.pipeline`, prints."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
import warnings
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

import qa  # noqa: F401  (goes offline before anything heavy loads)
from qa.config import ConfigError, Settings, describe, load_settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class QAError(click.ClickException):
    """An expected failure: one line on stderr, exit code 1, no traceback."""

    def show(self, file=None) -> None:
        console.print(f"[red]error:[/red] {escape(self.message)}")


def _settings(**overrides):
    chroma_url = click.get_current_context().find_root().params.get("chroma_url")
    if chroma_url:
        overrides.setdefault("chroma_url", chroma_url)
    try:
        return load_settings(**overrides)
    except ConfigError as error:
        raise QAError(f"bad setting: {error}") from None


@contextlib.contextmanager
def _one_line_errors(*also: type[Exception]):
    """An expected failure (index, setting, question, model, judge, file; and `also`) becomes one `error:` line."""
    from qa.pipeline import IndexProblem, JudgeUnavailable, LLMError, QuestionError

    try:
        yield
    except (IndexProblem, ConfigError, QuestionError, LLMError, JudgeUnavailable, OSError, *also) as error:
        raise QAError(str(error)) from None


def _period_options(command):
    """--since/--until: only articles published in that period (YYYY-MM-DD, YYYY-MM or YYYY)."""
    command = click.option("--until", metavar="DATE",
                           help="Only articles published on DATE or earlier (2023-02-04, 2023-02 or 2023).")(command)
    return click.option("--since", metavar="DATE",
                        help="Only articles published on DATE or later (2023-02-04, 2023-02 or 2023).")(command)


def _example(*commands: str) -> str:
    """A command's --help epilog: one example, kept as written (click's \\b), so each line must fit
    80 columns with the 4 columns of indent (tests/test_cli.py checks)."""
    return "\b\nExample:\n" + "\n".join(f"  {command}" for command in commands)


def _period(since: str | None, until: str | None):
    from qa.pipeline import PeriodError, period_between

    try:
        return period_between(since, until)
    except PeriodError as error:
        raise QAError(f"--since/--until: {error}") from None


@contextlib.contextmanager
def _history_warnings():
    """A history log that could not be written is a `warning:` line once the block ends (the answer
    still comes); other warnings show as they would have."""
    from qa.pipeline import history

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", history.HistoryWarning)
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, history.HistoryWarning):
                    console.print(f"[yellow]warning:[/yellow] {escape(str(warning.message))}")
                else:
                    warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog=_example("qa ingest corpus/", "qa ask \"Why was Blinken's trip to China cancelled?\""))
@click.version_option(qa.__version__, prog_name="qa")
@click.option("--chroma-url", metavar="URL", help="Keep chunks and vectors on this Chroma server (QA_CHROMA_URL).")
def main(chroma_url: str | None) -> None:
    """Ask questions of a folder of news articles; every answer cites its passages.

    Ingest the articles once, then ask. Settings come from qa.toml and QA_* environment variables
    (see `qa config`).
    """


@main.command(epilog=_example("qa ingest corpus/ --feeds feeds.txt"))
@click.argument("paths", nargs=-1)
@click.option("--feeds", "feeds_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="A file of feed or page URLs, one a line (# comments).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default .qa/index, or QA_INDEX_DIR).")
@click.option("--prune", is_flag=True, help="Remove indexed articles that are not in PATHS.")
@click.option("--rebuild", is_flag=True, help="Delete the index and build it again (after changing model or chunking).")
@click.option("--if-missing", is_flag=True,
              help="Do nothing if the index already has articles (rebuild it if it was built with other settings).")
def ingest(paths: tuple[str, ...], feeds_file: Path | None, index_dir: Path | None, prune: bool, rebuild: bool,
           if_missing: bool) -> None:
    """Add articles to the index: folders of .txt/.md/.html, single files, .jsonl corpora, and the
    URLs of article pages or RSS/Atom feeds (each item of a feed is an article).

    Unchanged articles are skipped, changed ones replaced; safe to re-run after an interruption.
    With no PATHS, ingests the corpus folder (QA_CORPUS_DIR, default ./corpus).
    """
    from qa import pipeline

    settings = _settings(index_dir=index_dir)
    if if_missing and pipeline.index_status(settings)["articles"] and not rebuild:
        reason = pipeline.index_mismatch(settings)
        if reason is None:
            console.print(f"Index at {settings.index_dir} exists; nothing to do.")
            return
        console.print(f"Index at {settings.index_dir} does not fit the current settings ({reason}); rebuilding it.")
        rebuild = True
    targets = list(paths) or ([] if feeds_file else [settings.corpus_dir])
    started = time.perf_counter()
    progress = Progress(TextColumn("[bold]ingesting"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("articles"), TimeElapsedColumn(), console=console, transient=False)
    task = None

    def on_start(total: int) -> None:
        nonlocal task
        progress.start()
        task = progress.add_task("ingest", total=total)

    def on_progress(done: int) -> None:
        progress.advance(task, done)

    try:
        with _one_line_errors(), console.status("loading articles and the embedding model…"):
            result = pipeline.ingest(settings, targets, feeds_file=feeds_file, prune=prune, rebuild=rebuild,
                                     on_start=on_start, on_progress=on_progress)
    finally:
        progress.stop()

    report, corpus = result.report, result.corpus
    for problem in corpus.problems:
        label = "skipped" if problem.skipped else "note"
        console.print(f"[yellow]{label}:[/yellow] {escape(str(problem))}")
    elapsed = time.perf_counter() - started
    skipped = sum(p.skipped for p in corpus.problems)
    console.print(
        f"[green]done[/green] in {elapsed:.1f}s: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.pruned)} pruned, {skipped} skipped; "
        f"{report.chunks_written} chunks, {report.sentences_written} sentences written"
        + (f" ({report.sentences_truncated} sentences cut to the embedding model's limit)"
           if report.sentences_truncated else "")
        + f". Index {settings.index_dir}: {report.total_articles} articles, {report.total_chunks} chunks."
    )
    if not corpus.articles:
        raise QAError("nothing could be ingested" + (": " + "; ".join(map(str, corpus.problems[:3])) if corpus.problems else ""))


@main.command(epilog=_example('qa search "balloon over Montana" -k 5 --since 2023-02'))
@click.argument("query")
@click.option("-k", "top_k", type=click.IntRange(1, 100), help="Passages to return (default: top_k setting).")
@click.option("--json", "as_json", is_flag=True, help="Print passages as JSON.")
@click.option("--no-hybrid", is_flag=True, help="Vector search only (no BM25).")
@click.option("--doc", "doc_ids", multiple=True, help="Only search these doc_ids (repeatable).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
@_period_options
def search(query: str, top_k: int | None, as_json: bool, no_hybrid: bool, doc_ids: tuple[str, ...],
           index_dir: Path | None, since: str | None, until: str | None) -> None:
    """Show the passages retrieval picks for QUERY, best first."""
    from qa import pipeline
    from qa.pipeline import byline

    if not query.strip():
        raise QAError("the query is empty")
    period = _period(since, until)
    settings = _settings(index_dir=index_dir)
    with _one_line_errors():
        passages = pipeline.search(settings, query, top_k=top_k, hybrid=False if no_hybrid else None,
                                   doc_ids=list(doc_ids) or None, period=period)
    if as_json:
        out.print_json(json.dumps([asdict(p) for p in passages], ensure_ascii=False))
        return
    if not passages:
        console.print("No passages found.")
        return
    for rank, p in enumerate(passages, start=1):
        also = f" [dim](also in {escape(', '.join(p.also_in))})[/dim]" if p.also_in else ""
        meta = byline(p)
        out.print(f"[bold]{rank}.[/bold] [cyan]{escape(p.doc_id)}[/cyan]{also}  score {p.score:.4f} · "
                  f"similarity {p.similarity:.2f}\n   [bold]{escape(p.title)}[/bold]"
                  + (f" [dim]({escape(meta)})[/dim]" if meta else ""))
        snippet = " ".join(p.text.split())
        out.print("   " + escape(snippet if len(snippet) <= 320 else snippet[:317] + "…"), "\n")


@main.command(epilog=_example('qa ask "Why was Blinken\'s trip to China cancelled?" --fast'))
@click.argument("question")
@click.option("-k", "top_k", type=click.IntRange(1, 50), help="Passages given to the model (default: top_k setting).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (answer, citations, passages, timings).")
@click.option("--doc", "doc_ids", multiple=True, help="Only use these doc_ids (repeatable).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
@click.option("--fast", is_flag=True, default=None, help="Answer with the bundled 0.5B: about twice as fast, less accurate (QA_FAST).")
@_period_options
def ask(question: str, top_k: int | None, as_json: bool, doc_ids: tuple[str, ...], index_dir: Path | None,
        fast: bool | None, since: str | None, until: str | None) -> None:
    """Answer QUESTION from the indexed articles, citing the passages used.

    On a terminal the evidence (the sentences the model reads, numbered as it cites them) shows
    first, then the answer streams as the model writes it, then the cited sources are listed.
    If the articles do not cover the question, it says so instead of guessing. A question that
    names a time ("last week", "in March") keeps to articles published then, and says so.
    """
    from qa import pipeline

    period = _period(since, until)
    settings = _settings(index_dir=index_dir, fast=fast)
    live = not as_json and out.is_terminal
    start = functools.partial(pipeline.stream_answer, settings, question, top_k=top_k, doc_ids=list(doc_ids) or None,
                              period=period)
    with _one_line_errors(), _history_warnings():
        answer = _render_live(start) if live else start().final()
    if as_json:
        out.print_json(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    if not live:
        out.print(escape(answer.text))
    _print_sources(answer)


def _render_live(start):
    """On a terminal: the stage on a status line, the evidence as soon as it is chosen (the reader
    reads it while the model writes), the draft as it streams, then the final cited answer.
    `start()` gives the `Response` (it opens the index: under the status line)."""
    from rich.live import Live
    from rich.spinner import Spinner
    from rich.text import Text

    from qa.pipeline import READING, Stage

    draft = ""
    with Live(Spinner("dots", "searching the articles and loading the model…"), console=out,
              refresh_per_second=12, transient=True) as view:
        response = start()
        for item in response:
            if isinstance(item, Stage) and item.name == READING:
                view.console.print(_evidence_block(item.evidence))
                view.update(Spinner("dots", f"reading {item.articles} article{'s' * (item.articles != 1)}…"))
            elif isinstance(item, str):
                draft += item
                view.update(Text(draft))
    out.print(escape(response.answer.text))
    return response.answer


def _evidence_block(evidence) -> str:
    """The sentences the model reads, numbered as it cites them, with outlet and date."""
    from qa.pipeline import byline, with_days

    lines = ["[bold]Evidence[/bold]"]
    for n, e in enumerate(evidence, start=1):
        quote = with_days(" ".join(e.text.split()), e.passage.published_at)
        meta = byline(e.passage)
        lines.append(f"[bold][{n}][/bold] “{escape(quote if len(quote) <= 240 else quote[:237] + '…')}”"
                     + (f" [dim]— {escape(meta)}[/dim]" if meta else ""))
    return "\n".join(lines) + "\n"


def _timeline_block(events) -> str:
    """One line per event, earliest first: its day (and the words that gave it), the sentence, its citation."""
    from qa.pipeline import byline

    lines = ["\n[bold]Timeline[/bold]"]
    for event in events:
        day = event.day or "undated"
        named = f" [dim]({escape(event.named)})[/dim]" if event.named else ""
        meta = byline(event)
        lines.append(f"[bold]{day}[/bold]{named} {escape(event.text)} [bold][{event.n}][/bold]"
                     + (f" [dim]— {escape(meta)}[/dim]" if meta else ""))
    return "\n".join(lines)


def _print_sources(answer, notes: Console = console) -> None:
    """The cited sources, unsupported sentences, and model and timings on `notes` (stderr for `qa ask`)."""
    from qa.pipeline import byline

    for note in answer.notes:
        notes.print(f"[dim]{escape(note)}[/dim]")
    if answer.timeline:
        out.print(_timeline_block(answer.timeline))
    if answer.refused and not answer.citations:
        return
    if answer.citations:
        out.print("\n[bold]Sources[/bold]")
    for c in answer.citations:
        meta = byline(c)
        out.print(f"[bold][{c.n}][/bold] [cyan]{escape(c.doc_id)}[/cyan] — {escape(c.title)}"
                  + (f" [dim]({escape(meta)})[/dim]" if meta else "")
                  + f"\n    [dim]chars {c.quote_start}–{c.quote_end}:[/dim] “{escape(c.quote)}”")
    for sentence in answer.unsupported:
        notes.print(f"[yellow]unsupported:[/yellow] no passage backs “{escape(sentence)}”")
    notes.print(_timings_line(answer))


def _timings_line(answer) -> str:
    """Model and seconds; the judge's and the first token's only when there were such (a refusal
    before the model wrote has no first token)."""
    t = answer.timings
    parts = [answer.model, f"retrieve {t.get('retrieve_s', 0):.2f}s"]
    parts += [f"judge {t['judge_s']:.2f}s"] if "judge_s" in t else []
    parts += [f"first token {t['first_token_s']:.2f}s"] if "first_token_s" in t else []
    return "[dim]" + " · ".join(parts + [f"total {t.get('total_s', 0):.2f}s"]) + "[/dim]"


@main.command("eval", epilog=_example("qa eval --gold eval/gold.jsonl --corpus corpus --corpus eval/articles \\",
                                      "  --index .qa/eval-index --retrieval-only --min hit@10=0.9"))
@click.option("--gold", "gold_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Gold questions (JSONL: id, question, answer, sources, keywords, answerable[, evidence, type]).")
@click.option("--corpus", "corpus_paths", multiple=True, type=click.Path(path_type=Path),
              help="Ingest this corpus first (incremental; repeatable).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
@click.option("--retrieval-only", is_flag=True, help="Score retrieval only; no LLM (fast).")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--sample", type=click.IntRange(1), help="About N questions, stratified by type (same ones every run).")
@click.option("-k", "top_k", type=click.IntRange(1, 50), help="Passages given to the model.")
@click.option("--json", "json_out", type=click.Path(path_type=Path, dir_okay=False), help="Write the full report as JSON.")
@click.option("--md", "md_out", type=click.Path(path_type=Path, dir_okay=False), help="Write a Markdown report.")
@click.option("--compare", "previous", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="A previous --json report: show each metric's change and flipped questions.")
@click.option("--min", "minimums", multiple=True, metavar="METRIC=VALUE",
              help="Exit 1 if METRIC falls below VALUE (repeatable), e.g. --min keyword_accuracy=0.8.")
@click.option("--fast", is_flag=True, default=None, help="Answer with the bundled 0.5B (QA_FAST).")
@_period_options
def evaluate_command(gold_path: Path, corpus_paths: tuple[Path, ...], index_dir: Path | None, retrieval_only: bool,
                     limit: int | None, sample: int | None, top_k: int | None, json_out: Path | None,
                     md_out: Path | None, previous: Path | None, minimums: tuple[str, ...], fast: bool | None,
                     since: str | None, until: str | None) -> None:
    """Score retrieval and answers against gold questions; print a summary, write reports, gate on minimums."""
    from qa import evaluate, pipeline

    thresholds = _parse_minimums(minimums)
    period = _period(since, until)
    settings = _settings(index_dir=index_dir, top_k=top_k, fast=fast)
    with _one_line_errors(evaluate.GoldError):
        evaluate.load_gold(gold_path)  # a bad gold file fails before any model loads
        if corpus_paths:
            with console.status(f"ingesting {', '.join(map(str, corpus_paths))}…"):
                result = pipeline.ingest(settings, list(corpus_paths))
            console.print(f"index: {result.report.total_articles} articles ({len(result.report.added)} added, "
                          f"{len(result.report.updated)} updated)")
        progress = Progress(TextColumn("[bold]evaluating"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console)
        with progress:
            task = progress.add_task("eval", total=None)
            data, results = evaluate.run(
                gold_path, settings, retrieval_only=retrieval_only, limit=limit, sample=sample, period=period,
                on_start=lambda n: progress.update(task, total=n),
                on_progress=lambda: progress.advance(task))

    _print_eval(data, evaluate.worst(results))
    if previous:
        _print_comparison(*evaluate.compare(data, json.loads(previous.read_text())))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        console.print(f"wrote {json_out}")
    if md_out:
        md_out.parent.mkdir(parents=True, exist_ok=True)
        md_out.write_text(evaluate.markdown(data, evaluate.worst(results)))
        console.print(f"wrote {md_out}")
    failures = evaluate.gate(data["summary"], thresholds)
    if failures:
        raise QAError("gate failed: " + "; ".join(failures))


def _parse_minimums(minimums: tuple[str, ...]) -> dict[str, float]:
    from qa.evaluate import ANSWER_METRICS, CONTEXT_METRICS, EVIDENCE_METRICS, RETRIEVAL_METRICS

    known = set(ANSWER_METRICS + CONTEXT_METRICS + EVIDENCE_METRICS + RETRIEVAL_METRICS)
    parsed = {}
    for entry in minimums:
        name, sep, value = entry.partition("=")
        if not sep or name not in known:
            raise QAError(f"--min {entry!r}: expected METRIC=VALUE with METRIC one of {', '.join(sorted(known))}")
        try:
            parsed[name] = float(value)
        except ValueError:
            raise QAError(f"--min {entry!r}: {value!r} is not a number") from None
    return parsed


def _print_eval(data: dict, failures: list) -> None:
    from qa.evaluate import fmt as _fmt

    summary = data["summary"]
    table = Table(title=f"{summary['n']} questions ({summary['answerable']} answerable) · "
                        f"model {data['config']['model'] or 'none: retrieval only'}", title_justify="left")
    table.add_column("metric")
    table.add_column("all", justify="right")
    types = data["by_type"]
    for name in types:
        table.add_column(name, justify="right")
    for metric, value in summary.items():
        if metric in ("n", "answerable"):
            continue
        table.add_row(metric, _fmt(value), *(_fmt(types[t].get(metric)) for t in types))
    table.add_row("n", str(summary["n"]), *(str(types[t]["n"]) for t in types))
    out.print(table)
    if failures:
        worst = Table("id", "question", "expected", "got", "cited / retrieved", title="worst failures",
                      title_justify="left", show_lines=True)
        for r in failures:
            worst.add_row(escape(r.id), escape(r.question), escape(r.expected), escape(r.got or "(retrieval miss)"),
                          escape(", ".join(r.cited_docs or r.retrieved_docs[:3])))
        out.print(worst)


def _print_comparison(deltas: list, flipped: list) -> None:
    from qa.evaluate import fmt as _fmt

    table = Table("metric", "before", "now", "change", title="compared with the previous run", title_justify="left")
    for name, before, now in deltas:
        change = "" if before is None or now is None else f"{now - before:+.3f}"
        style = "green" if change.startswith("+") and change != "+0.000" else "red" if change.startswith("-") else ""
        if name.startswith("latency") and change:
            style = {"green": "red", "red": "green"}.get(style, style)
        table.add_row(name, _fmt(before), _fmt(now), f"[{style}]{change}[/{style}]" if style else change)
    out.print(table)
    for item in flipped:
        mark = "[green]now right[/green]" if item["now"] == "right" else "[red]now wrong[/red]"
        out.print(f"{mark} {escape(item['id'])}: {escape(item['question'])}")


@main.group("log", invoke_without_command=True, epilog=_example("qa log --limit 5"))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0), help="The N newest (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON, each with its whole answer.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
@click.pass_context
def log(context: click.Context, limit: int, as_json: bool, index_dir: Path | None) -> None:
    """The questions answered so far, newest first (history.sqlite3 in the index folder).

    Every answer of `qa ask` and the chat UI is logged, unless the history setting is off
    (QA_HISTORY=false); `qa eval` never logs. `qa log show ID` gives one in full.
    """
    from qa import pipeline

    if context.invoked_subcommand:
        return
    settings = _settings(index_dir=index_dir)
    with _one_line_errors(pipeline.history.HistoryError):
        entries = pipeline.history.entries(settings, limit=limit or None)
    if as_json:
        out.print_json(json.dumps([asdict(e) for e in entries], ensure_ascii=False))
        return
    if not entries:
        off = "" if settings.history else " (the history setting is off: QA_HISTORY)"
        console.print(f"No questions logged in {settings.history_path}{off}.")
        return
    out.print(_log_table(entries, title=str(settings.history_path)))


@log.command("show", epilog=_example("qa log show 12 --json"))
@click.argument("entry_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON (answer, settings fingerprint).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
def log_show(entry_id: int, as_json: bool, index_dir: Path | None) -> None:
    """One logged question in full: answer, citations, timings, and the settings it was answered with."""
    from qa import pipeline
    from qa.pipeline import Turn

    settings = _settings(index_dir=index_dir)
    with _one_line_errors(pipeline.history.HistoryError):
        entry = pipeline.history.entry(settings, entry_id)
    if as_json:
        out.print_json(json.dumps(asdict(entry), ensure_ascii=False))
        return
    conversation = f" · conversation {entry.conversation_id}" if entry.conversation_id else ""
    out.print(f"[bold]#{entry.id}[/bold] [dim]{_when(entry.asked_at)} UTC · {entry.front_end}{conversation}[/dim]")
    out.print(f"[bold]Q:[/bold] {escape(entry.question)}")
    if entry.standalone != entry.question:
        out.print(f"[dim]Searched for: {escape(entry.standalone)}[/dim]")
    answer = Turn.from_dict(entry.turn_dict()).answer
    out.print("\n" + escape(answer.text))
    if answer.refused and not answer.citations:
        out.print(_timings_line(answer))
    _print_sources(answer, notes=out)
    out.print(f"[dim]settings {entry.fingerprint_id}: {escape(_settings_changed(entry.fingerprint))}[/dim]")


# Columns of `qa log` that give way to the question, in the order they get what room is left
# (`qa log show ID` has both).
_LOG_OPTIONAL = ("first / total s", "model")


def _log_table(entries, title: str, now: datetime | None = None) -> Table:
    """One line per logged answer, and the question gets the room: the model and the timings show
    only where every question still fits whole beside them; a question too long even alone is cut."""
    now = now or datetime.now(timezone.utc)
    cells = {
        "id": [str(e.id) for e in entries],
        "time (UTC)": [_short_when(e.asked_at, now) for e in entries],
        "question": [e.question for e in entries],
        "result": ["refused" if e.refused else "answered" for e in entries],
        "model": [e.model for e in entries],
        "first / total s": [f"{_seconds(t.get('first_token_s'))} / {_seconds(t.get('total_s'))}"
                            for t in (e.answer.get("timings", {}) for e in entries)],
    }
    # A column takes its width and a space either side; the columns have one space between them.
    space = {header: max(len(header), *map(len, column)) + 3 for header, column in cells.items()}
    room = out.width + 1 - sum(space[header] for header in cells if header not in ("question", *_LOG_OPTIONAL))
    shown = set(cells)
    for header in _LOG_OPTIONAL:
        if room - space[header] >= space["question"]:
            room -= space[header]
        else:
            shown.discard(header)
    table = Table(box=SIMPLE_HEAD, show_edge=False, title=title, title_justify="left")
    for header in (header for header in cells if header in shown):
        table.add_column(header, no_wrap=True, overflow="ellipsis",
                         justify="right" if header in ("id", "first / total s") else "left",
                         max_width=max(16, room - 3) if header == "question" else None)
    for row in zip(*(cells[header] for header in cells if header in shown)):
        table.add_row(*map(escape, row))
    return table


def _when(asked_at: str) -> str:
    """"2024-05-01 10:00:03" of a UTC ISO time."""
    return asked_at[:19].replace("T", " ")


def _short_when(asked_at: str, now: datetime) -> str:
    """"05-01 10:00" of a UTC ISO time in `now`'s year; only the day, "2023-05-01", of an older one.
    Absolute rather than "2h ago": a row reads the same tomorrow, and as `qa log show` gives it."""
    when = _when(asked_at)
    return when[5:16] if when[:4] == f"{now.year:04}" else when[:10]


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _settings_changed(fingerprint: dict) -> str:
    """The settings of a logged answer that differ from the defaults, as `name = value`."""
    defaults = {name: value for name, _, value in describe(Settings())}
    changed = [f"{name} = {value}" for name, value in fingerprint.get("settings", {}).items()
               if defaults.get(name) != value]
    return "not the defaults: " + ", ".join(changed) if changed else "the defaults"


@main.command(epilog=_example("qa status --index .qa/eval-index --json"))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder.")
def status(as_json: bool, index_dir: Path | None) -> None:
    """What the index holds."""
    from qa import pipeline

    with _one_line_errors():
        info = pipeline.index_status(_settings(index_dir=index_dir))
    if as_json:
        out.print_json(json.dumps(info))
    elif not info["exists"]:
        out.print(f"No index at {info['index_dir']}. Build one with `qa ingest corpus`.")
    else:
        out.print(f"{info['index_dir']}: {info['articles']} articles, {info['chunks']} chunks; "
                  f"embedding {info['embedding']['model']}, chunks of {info['chunking']['chunk_size']} word pieces")


@main.command("config", epilog=_example("QA_TOP_K=8 qa config"))
def show_config() -> None:
    """Every setting, its environment variable and its current value."""
    table = Table("setting", "env var", "value")
    for row in describe(_settings()):
        table.add_row(*map(escape, row))
    out.print(table)


@main.command(epilog=_example("qa bench --corpus corpus.jsonl --gold dev.jsonl --articles 50 --scales 1,4"))
@click.option("--corpus", "corpus_paths", multiple=True, required=True, type=click.Path(path_type=Path, exists=True),
              help="Articles to ingest (repeatable), e.g. the MultiHop-RAG corpus.jsonl.")
@click.option("--gold", "gold_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Questions with gold sources/evidence for the quality figures.")
@click.option("--out", "out_dir", default=Path("bench"), show_default=True, type=click.Path(path_type=Path, file_okay=False),
              help="Where results.json and scaling.png go.")
@click.option("--work", "work_dir", default=Path(".qa/bench"), show_default=True, type=click.Path(path_type=Path),
              help="Scratch folder for the benchmark's indexes (deleted and rebuilt).")
@click.option("--articles", type=click.IntRange(1), help="Only the first N articles (default: all).")
@click.option("--rounds", default=1, show_default=True, type=click.IntRange(1), help="Ingest rounds per pipeline (alternating).")
@click.option("--questions", default=100, show_default=True, type=click.IntRange(1), help="Retrieval questions (stratified).")
@click.option("--answers", "answer_questions", default=30, show_default=True, type=click.IntRange(0),
              help="Questions answered by the local model per pipeline (0: skip answers and cold start).")
@click.option("--scales", default="1,4,16", show_default=True, help="Corpus multiples for the scaling curve ('' to skip).")
@click.option("--scale-articles", type=click.IntRange(1), help="Base size of the scaling runs (default: --articles).")
@click.option("--clients", default=8, show_default=True, type=click.IntRange(0),
              help="API clients asking app.py at once, for the queue's waits (0: skip; needs --answers).")
def bench(corpus_paths, gold_path, out_dir, work_dir, articles, rounds, questions, answer_questions, scales,
          scale_articles, clients) -> None:
    """Benchmark ingest, retrieval and answers against a stock llama-index pipeline, and scaling.

    Long: on the 609-article MultiHop-RAG corpus and 2 cores, about an hour with the defaults.
    """
    from qa import bench as benchmark

    try:
        multiples = tuple(int(part) for part in scales.split(",") if part.strip())
    except ValueError:
        raise QAError(f"--scales: expected numbers like 1,4,16, got {scales!r}") from None
    with _one_line_errors(RuntimeError):
        results = benchmark.run(list(corpus_paths), gold_path, work_dir, articles=articles, rounds=rounds,
                                questions=questions, answer_questions=answer_questions, scales=multiples,
                                scale_articles=scale_articles or articles, clients=clients,
                                step=lambda text: console.print(f"[dim]{escape(text)}[/dim]"))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    if results.get("scaling"):
        benchmark.plot_scaling(results["scaling"]["rows"], out_dir / "scaling.png")
    out.print(benchmark.markdown_table(results))
    console.print(f"wrote {out_dir / 'results.json'}" + (f" and {out_dir / 'scaling.png'}" if results.get("scaling") else ""))


def run() -> None:
    # Not click's standalone mode, which turns Ctrl-C into "Aborted!" and exit status 1.
    try:
        code = main(standalone_mode=False)
    except (KeyboardInterrupt, click.Abort):
        console.print("interrupted")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
