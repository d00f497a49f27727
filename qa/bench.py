"""`qa bench`: this project's pipeline side by side with a stock llama-index one, and how ours scales.

The stock pipeline is what the llama-index docs build: `VectorStoreIndex` over a Chroma collection
(same chromadb, same embedding model at llama-index's default batch size), the default
`SentenceSplitter`, `as_retriever(similarity_top_k=k)` and `as_query_engine` on the same local model.

Each ingest runs in a child process (its own model load and peak RSS, its VmHWM), and the two
pipelines alternate round by round so drift on the machine falls on both.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import PrivateAttr

from qa import pipeline as qa_pipeline
from qa.config import Settings
from qa.pipeline import Article, Index, chunk_article, embedding_text, load_corpus, make_splitter

PIPELINES = ("ours", "stock")
STOCK_COLLECTION = "stock"
RAW_SAMPLE = 1000  # chunks encoded in one call to measure the embedding model's raw throughput


# --- corpus ----------------------------------------------------------------------

def bench_articles(paths: list[Path], limit: int | None = None, copies: int = 1) -> list[Article]:
    """The first `limit` articles, repeated `copies` times under new doc_ids ("…#copy2") for scaling."""
    articles = load_corpus(paths).articles[:limit]
    return [article if k == 1 else replace(article, doc_id=f"{article.doc_id}#copy{k}")
            for k in range(1, copies + 1) for article in articles]


# --- ingest (child processes) ----------------------------------------------------------

def ingest_ours(articles: list[Article], folder: Path) -> dict[str, Any]:
    settings = Settings(index_dir=folder)
    embedder = qa_pipeline.embedder(settings)
    started = time.perf_counter()
    report = Index(settings, embedder, create=True).ingest(articles)
    seconds = time.perf_counter() - started
    # The embedding model alone on a sample of the same chunk texts, in one call: the ceiling.
    sample = _sample_texts(articles, make_splitter(settings, embedder), embedder, settings)
    raw_started = time.perf_counter()
    embedder.embed(sample)
    raw = len(sample) / (time.perf_counter() - raw_started)
    return {"seconds": seconds, "chunks": report.total_chunks, "raw_chunks_per_s": raw}


def _sample_texts(articles: list[Article], splitter, embedder, settings: Settings) -> list[str]:
    """Embedding texts of up to RAW_SAMPLE chunks, from articles spread over the corpus (not all re-chunked)."""
    texts: list[str] = []
    for article in articles[:: max(1, len(articles) // 100)]:
        texts += [embedding_text(article, chunk, embedder, settings) for chunk in chunk_article(article, splitter)]
        if len(texts) >= RAW_SAMPLE:
            break
    return texts[:RAW_SAMPLE]


def stock_index(folder: Path, embedder, articles: list[Article] | None = None):
    """The stock llama-index pipeline over a Chroma collection in `folder` (built when `articles` given)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chromadb.PersistentClient(path=str(folder / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    store = ChromaVectorStore(chroma_collection=client.get_or_create_collection(STOCK_COLLECTION))
    if articles is None:
        return VectorStoreIndex.from_vector_store(store, embed_model=embedder)
    documents = [Document(text=a.text, doc_id=a.doc_id, metadata={"doc_id": a.doc_id, "title": a.title,
                                                                   "source": a.source, "published_at": a.published_at})
                 for a in articles]
    return VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(vector_store=store),
                                           embed_model=embedder)


def stock_embedder():
    from llama_index.core.base.embeddings.base import DEFAULT_EMBED_BATCH_SIZE

    return qa_pipeline.embedder(Settings(embed_batch_size=DEFAULT_EMBED_BATCH_SIZE))


def ingest_stock(articles: list[Article], folder: Path) -> dict[str, Any]:
    embedder = stock_embedder()
    started = time.perf_counter()
    index = stock_index(folder, embedder, articles)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "chunks": index.vector_store.client.count()}


def run_ingest_child(pipeline: str, paths: list[Path], folder: Path, limit: int | None, copies: int = 1) -> dict:
    """Ingest in a fresh process; its figures plus peak RSS (MB) and the index's size on disk (MB)."""
    command = [sys.executable, "-m", "qa.bench", pipeline, str(folder), str(limit or 0), str(copies),
               *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{pipeline} ingest failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = result.pop("peak_rss_kb") / 1024
    result["disk_mb"] = _disk_mb(folder)
    return result


def _disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def _child_main(argv: list[str]) -> None:
    pipeline, folder, limit, copies, *paths = argv
    articles = bench_articles([Path(p) for p in paths], int(limit) or None, int(copies))
    ingest = ingest_ours if pipeline == "ours" else ingest_stock
    result = ingest(articles, Path(folder))
    result["articles"] = len(articles)
    if pipeline == "ours":
        result["retrieval_p50_ms"] = _pct(_ours_search_ms(Path(folder), articles), 50)
    result["peak_rss_kb"] = _peak_rss_kb()
    print(json.dumps(result))


def _peak_rss_kb() -> int:
    """This process's peak RSS. Linux's VmHWM belongs to the address space, which exec replaces;
    ru_maxrss survives exec, so a child forked from a parent holding the LLM would report the parent's."""
    import resource

    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _ours_search_ms(folder: Path, articles: list[Article], queries: int = 50) -> list[float]:
    """Warm retrieval latencies on titles of the indexed articles (used by the scaling runs)."""
    settings = Settings(index_dir=folder)
    titles = [a.title for a in articles[:queries] if a.title] or ["news"]
    qa_pipeline.search(settings, titles[0], top_k=10)  # warm: models and BM25 loaded
    return _timed(lambda q: qa_pipeline.search(settings, q, top_k=10), titles)[1]


# --- retrieval and answers (this process) ------------------------------------------------

def _timed(fn: Callable[[str], Any], queries: list[str]) -> tuple[list[Any], list[float]]:
    results, millis = [], []
    for query in queries:
        started = time.perf_counter()
        results.append(fn(query))
        millis.append((time.perf_counter() - started) * 1000)
    return results, millis


def retrieval(pipeline: str, folder: Path, items: list, top_k: int = 10) -> dict[str, Any]:
    """Warm latency per query, and evidence_hit@10 / mrr@10 so speed is never bought with quality."""
    from qa.evaluate import evidence_scores

    if pipeline == "ours":
        settings = Settings(index_dir=folder)
        qa_pipeline.search(settings, "warm up", top_k=top_k)
        found, millis = _timed(lambda q: qa_pipeline.search(settings, q, top_k=top_k), [i.question for i in items])
        hits = [[(p.doc_id, p.text) for p in passages] for passages in found]
    else:
        retriever = stock_index(folder, stock_embedder()).as_retriever(similarity_top_k=top_k)
        retriever.retrieve("warm up")
        found, millis = _timed(retriever.retrieve, [i.question for i in items])
        hits = [[(n.node.metadata.get("doc_id", ""), n.node.get_content()) for n in nodes] for nodes in found]
    scored = [evidence_scores(item.evidence, [text for _, text in hit]) for item, hit in zip(items, hits) if item.evidence]
    mrr = [_mrr([doc for doc, _ in hit], set(item.sources)) for item, hit in zip(items, hits)]
    return {"p50_ms": _pct(millis, 50), "p95_ms": _pct(millis, 95),
            "evidence_hit@10": statistics.mean(s["evidence_hit@10"] for s in scored) if scored else None,
            "evidence_mrr@10": statistics.mean(s["evidence_mrr@10"] for s in scored) if scored else None,
            "mrr@10": statistics.mean(mrr) if mrr else None, "queries": len(items)}


def _mrr(docs: list[str], gold: set[str]) -> float:
    return next((1 / rank for rank, doc in enumerate(docs, start=1) if doc in gold), 0.0)


def _pct(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]


def answer_once(pipeline: str, folder: Path, question: str) -> dict[str, float]:
    """One question with the local model: time to first token, total, tokens/s after the first, and
    the prompt tokens the model read (both pipelines drive the same model, which counts them)."""
    settings = Settings(index_dir=folder)
    model = qa_pipeline.llm(settings)
    read_before = model.tokens_read
    if pipeline == "ours":
        deltas = qa_pipeline.stream_answer(settings, question, history=False)  # no log write in the timing
    else:
        deltas = _stock_engine(folder, settings).query(question).response_gen
    started = time.perf_counter()
    tokens, first_at = 0, None
    for item in deltas:
        if isinstance(item, str) and item:
            tokens += 1
            first_at = first_at or time.perf_counter()
    ended = time.perf_counter()
    result = {"total_s": ended - started, "prompt_tokens": model.tokens_read - read_before}
    if first_at is not None:
        result["first_token_s"] = first_at - started
        if tokens > 1 and ended > first_at:
            result["tokens_per_s"] = (tokens - 1) / (ended - first_at)
    return result


_engines: dict[Path, Any] = {}


def _stock_engine(folder: Path, settings: Settings):
    if folder not in _engines:
        _engines[folder] = stock_index(folder, stock_embedder()).as_query_engine(
            llm=StockLLM(qa_pipeline.llm(settings), settings), similarity_top_k=settings.top_k, streaming=True)
    return _engines[folder]


def summarise_answers(runs: list[dict[str, float]]) -> dict[str, Any]:
    def values(key: str) -> list[float]:
        return [run[key] for run in runs if key in run]

    return {"prompt_tokens_p50": _pct(values("prompt_tokens"), 50),
            "first_token_p50_s": _pct(values("first_token_s"), 50), "total_p50_s": _pct(values("total_s"), 50),
            "total_p95_s": _pct(values("total_s"), 95),
            "tokens_per_s": statistics.median(values("tokens_per_s")) if values("tokens_per_s") else None,
            "questions": len(runs)}


class StockLLM(CustomLLM):
    """Our local model behind llama-index's LLM interface; the prompt is llama-index's own."""

    _llm: Any = PrivateAttr()
    _settings: Any = PrivateAttr()

    def __init__(self, llm, settings: Settings) -> None:
        super().__init__()
        self._llm, self._settings = llm, settings

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=self._settings.llm_context, num_output=self._settings.max_tokens,
                           model_name=self._llm.name)

    def _deltas(self, prompt: str) -> Iterator[str]:
        return self._llm.stream([{"role": "user", "content": prompt}], max_tokens=self._settings.max_tokens,
                                temperature=self._settings.temperature)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="".join(self._deltas(prompt)))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
        text = ""
        for delta in self._deltas(prompt):
            text += delta
            yield CompletionResponse(text=text, delta=delta)


def cold_ask(folder: Path, question: str) -> dict[str, float]:
    """Seconds from starting `qa ask` in a new process to its first answer token and to its end (the
    first token is placed by the answer's own timings: its end less the time it streamed)."""
    qa = Path(sys.executable).with_name("qa")
    started = time.perf_counter()
    done = subprocess.run([str(qa), "ask", "--json", "--index", str(folder), question], check=True,
                          capture_output=True, text=True)
    total = time.perf_counter() - started
    timings = json.loads(done.stdout)["timings"]
    streamed = timings["total_s"] - timings.get("first_token_s", timings["total_s"])
    return {"first_token_s": total - streamed, "total_s": total}


# --- serving --------------------------------------------------------------------------

def stop_to_next(folder: Path, stopped_question: str, next_question: str, *, when: str) -> dict[str, float]:
    """An answer stopped from another thread (as the UI's stop button does) while the model is
    "reading" its prompt or "writing" its reply, and the next question asked at once: how long that
    question waited for the model after its evidence was out (about 0 when the stop freed it at once),
    and its first token counted from the stop."""
    import threading

    from qa import pipeline as qa_pipeline

    settings = Settings(index_dir=folder, history=False)
    stopped = qa_pipeline.stream_answer(settings, stopped_question)
    reached = threading.Event()

    def read() -> None:
        try:
            for item in stopped:
                if isinstance(item, str) or (when == "reading" and isinstance(item, qa_pipeline.Stage)
                                             and item.name == qa_pipeline.READING):
                    reached.set()
        except qa_pipeline.LLMError:  # stopped mid-call
            pass
        reached.set()

    reader = threading.Thread(target=read)
    reader.start()
    reached.wait()
    if when == "reading":
        time.sleep(1.0)  # the evidence is out; the (warm) model is reading the prompt
    started = time.perf_counter()
    stopped.stop()
    following = qa_pipeline.stream_answer(settings, next_question)
    first_at = None
    for item in following:
        if isinstance(item, str) and first_at is None:
            first_at = time.perf_counter()
    reader.join()
    return {"model_wait_s": following.answer.timings.get("model_wait_s", 0.0),
            "first_token_after_stop_s": (first_at or time.perf_counter()) - started,
            "first_token_s": following.answer.timings.get("first_token_s", 0.0)}


def serving_load(folder: Path, questions: list[str], clients: int = 8) -> dict[str, Any]:
    """`clients` API clients asking app.py at once (loopback only, one question each): how long each
    waited for the model behind the others, and whether each got its own answer."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    app = Path(__file__).resolve().parent.parent / "app.py"
    if not app.is_file():
        raise RuntimeError(f"the serving benchmark starts app.py, which is not at {app}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("QA_")},
           "QA_INDEX_DIR": str(folder), "QA_HISTORY": "false"}
    log = folder.parent / "serving-app.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, str(app), "--port", str(port)], env=env, stdout=output,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_until_up(url, process, log)
        asked = [questions[k % len(questions)] for k in range(clients)]
        with ThreadPoolExecutor(clients) as pool:
            answers = list(pool.map(lambda q: Client(url, verbose=False).predict(question=q, api_name="/ask"), asked))
    finally:
        process.terminate()
        process.wait(timeout=30)
    waits = [a["timings"].get("model_wait_s", 0.0) for a in answers]
    return {"clients": clients, "own_answers": sum(a["question"] == q for a, q in zip(answers, asked)),
            "wait_p50_s": _pct(waits, 50), "wait_p95_s": _pct(waits, 95), "wait_max_s": max(waits),
            "total_p95_s": _pct([a["timings"]["total_s"] for a in answers], 95)}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"app.py did not start; its log is {log}") from None
            time.sleep(0.5)


# --- scaling --------------------------------------------------------------------------

def fit_growth(sizes: list[float], values: list[float]) -> float | None:
    """Exponent b of values ≈ a·sizes^b (least squares in log-log): 1 linear, < 1 sub-linear."""
    points = [(math.log(s), math.log(v)) for s, v in zip(sizes, values) if s > 0 and v and v > 0]
    if len(points) < 2:
        return None
    mx = statistics.mean(x for x, _ in points)
    my = statistics.mean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def plot_scaling(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["articles"] for r in rows]
    panels = [("seconds", "ingest time (s)"), ("disk_mb", "index on disk (MB)"),
              ("retrieval_p50_ms", "retrieval p50 (ms)"), ("peak_rss_mb", "peak RSS (MB)")]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    for ax, (key, label) in zip(axes, panels):
        values = [r[key] for r in rows]
        ax.plot(sizes, values, "o-")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("articles")
        ax.set_title(label)
        b = fit_growth(sizes, values)
        if b is not None:
            ax.text(0.05, 0.9, f"∝ n^{b:.2f}", transform=ax.transAxes)
    fig.suptitle("newsqa ingest and retrieval at 1x, 4x, 16x the corpus (articles replicated under new doc_ids)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


# --- a whole run ----------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1), "python": platform.python_version()}


def run(paths: list[Path], gold_path: Path, work: Path, *, articles: int | None = None, rounds: int = 1,
        questions: int = 100, answer_questions: int = 30, scales: tuple[int, ...] = (1, 4, 16),
        scale_articles: int | None = None, clients: int = 8, step: Callable[[str], None] = print) -> dict[str, Any]:
    """Every figure of the benchmark; `work` holds the throwaway indexes."""
    import shutil

    from qa.evaluate import load_gold, stratified_sample

    items = [item for item in load_gold(gold_path) if item.answerable]
    results: dict[str, Any] = {"machine": machine(), "config": {
        "corpus": [str(p) for p in paths], "gold": str(gold_path), "articles": articles, "rounds": rounds,
        "retrieval_questions": min(questions, len(items)), "answer_questions": min(answer_questions, len(items)),
        "scales": list(scales), "scale_articles": scale_articles, "clients": clients}}
    folders = {name: work / name for name in PIPELINES}

    ingests: dict[str, list[dict]] = {name: [] for name in PIPELINES}
    for round_number in range(rounds):
        for name in PIPELINES if round_number % 2 == 0 else PIPELINES[::-1]:
            step(f"ingest {name} (round {round_number + 1}/{rounds})")
            shutil.rmtree(folders[name], ignore_errors=True)
            ingests[name].append(run_ingest_child(name, paths, folders[name], articles))
    results["ingest"] = {name: _summarise_ingest(runs) for name, runs in ingests.items()}

    sample = stratified_sample(items, questions)[:questions]
    results["retrieval"] = {}
    for name in PIPELINES:
        step(f"retrieval {name} ({len(sample)} questions)")
        results["retrieval"][name] = retrieval(name, folders[name], sample)

    if answer_questions:
        runs: dict[str, list] = {name: [] for name in PIPELINES}
        chosen = stratified_sample(items, answer_questions)[:answer_questions]
        for number, item in enumerate(chosen):
            for name in PIPELINES if number % 2 == 0 else PIPELINES[::-1]:
                step(f"answer {number + 1}/{len(chosen)} {name}")
                runs[name].append(answer_once(name, folders[name], item.question))
        results["answers"] = {name: summarise_answers(r) for name, r in runs.items()}
        step("cold start: qa ask in a new process")
        results["cold_ask"] = cold_ask(folders["ours"], chosen[0].question)
        step("stopping an answer, then the next question")
        results["stop"] = {when: stop_to_next(folders["ours"], chosen[0].question, chosen[1 % len(chosen)].question,
                                              when=when) for when in ("reading", "writing")}
        if clients:
            step(f"serving: {clients} clients at once")
            results["serving"] = serving_load(folders["ours"], [item.question for item in chosen], clients)

    rows = []
    for copies in scales:
        step(f"scaling: {copies}x")
        folder = work / f"scale-{copies}x"
        shutil.rmtree(folder, ignore_errors=True)
        row = run_ingest_child("ours", paths, folder, scale_articles, copies=copies)
        rows.append({key: row[key] for key in ("articles", "chunks", "seconds", "disk_mb", "retrieval_p50_ms",
                                               "peak_rss_mb")})
        shutil.rmtree(folder, ignore_errors=True)
    if rows:
        sizes = [row["articles"] for row in rows]
        results["scaling"] = {"rows": rows, "growth_exponent": {
            key: fit_growth(sizes, [row[key] for row in rows])
            for key in ("seconds", "disk_mb", "retrieval_p50_ms", "peak_rss_mb")}}
    results["ratios"] = ratios(results)
    return results


def _summarise_ingest(runs: list[dict]) -> dict[str, Any]:
    seconds = statistics.median(run["seconds"] for run in runs)
    last = runs[-1]
    summary = {"seconds": seconds, "articles": last["articles"], "chunks": last["chunks"],
               "articles_per_s": last["articles"] / seconds, "chunks_per_s": last["chunks"] / seconds,
               "peak_rss_mb": max(run["peak_rss_mb"] for run in runs), "disk_mb": last["disk_mb"], "runs": runs}
    if "raw_chunks_per_s" in last:
        summary["raw_chunks_per_s"] = statistics.median(run["raw_chunks_per_s"] for run in runs)
        summary["share_of_raw_throughput"] = summary["chunks_per_s"] / summary["raw_chunks_per_s"]
    return summary


FIGURES = [  # (section, key, label, better)
    ("ingest", "seconds", "ingest wall time (s)", "lower"),
    ("ingest", "articles_per_s", "ingest articles/s", "higher"),
    ("ingest", "chunks_per_s", "ingest chunks/s", "higher"),
    ("ingest", "peak_rss_mb", "ingest peak RSS (MB)", "lower"),
    ("ingest", "disk_mb", "index on disk (MB)", "lower"),
    ("retrieval", "p50_ms", "retrieval p50 (ms, warm)", "lower"),
    ("retrieval", "p95_ms", "retrieval p95 (ms, warm)", "lower"),
    ("retrieval", "evidence_hit@10", "evidence_hit@10", "higher"),
    ("retrieval", "evidence_mrr@10", "evidence_mrr@10", "higher"),
    ("retrieval", "mrr@10", "mrr@10 (gold article)", "higher"),
    ("answers", "prompt_tokens_p50", "prompt tokens read p50", "lower"),
    ("answers", "first_token_p50_s", "time to first token p50 (s)", "lower"),
    ("answers", "tokens_per_s", "tokens/s", "higher"),
    ("answers", "total_p50_s", "answer total p50 (s)", "lower"),
    ("answers", "total_p95_s", "answer total p95 (s)", "lower"),
]


def ratios(results: dict[str, Any]) -> dict[str, float | None]:
    """ours ÷ stock for every figure both have."""
    out = {}
    for section, key, _, _ in FIGURES:
        pair = results.get(section, {})
        ours, stock = pair.get("ours", {}).get(key), pair.get("stock", {}).get(key)
        out[f"{section}.{key}"] = ours / stock if ours is not None and stock else None
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}"


def markdown_table(results: dict[str, Any]) -> str:
    """The side-by-side table (Markdown, as in docs/speed-and-scale.md), then scaling and cold start."""
    lines = ["| figure | newsqa | stock llama-index | newsqa ÷ stock |", "|---|---|---|---|"]
    for section, key, label, better in FIGURES:
        pair = results.get(section)
        if not pair:
            continue
        lines.append(f"| {label} ({better} is better) | {_fmt(pair['ours'].get(key))} | {_fmt(pair['stock'].get(key))} "
                     f"| {_fmt(results['ratios'].get(f'{section}.{key}'))} |")
    ours = results["ingest"]["ours"]
    if "share_of_raw_throughput" in ours:
        lines.append(f"\nEmbedding model alone: {ours['raw_chunks_per_s']:.1f} chunks/s; newsqa's ingest reaches "
                     f"{ours['share_of_raw_throughput']:.0%} of it.")
    if "cold_ask" in results:
        cold = results["cold_ask"]
        lines.append(f"Cold `qa ask` (a new process): first token after {cold['first_token_s']:.1f} s, "
                     f"answer after {cold['total_s']:.1f} s.")
    for when, stop in results.get("stop", {}).items():
        lines.append(f"An answer stopped while the model was {when}: the next question waited {stop['model_wait_s']:.2f} s "
                     f"for the model; its first token came {stop['first_token_after_stop_s']:.1f} s after the stop.")
    if "serving" in results:
        serving = results["serving"]
        lines.append(f"{serving['clients']} clients at once: {serving['own_answers']} got their own answer; waiting "
                     f"for the model p50 {serving['wait_p50_s']:.1f} s, p95 {serving['wait_p95_s']:.1f} s, longest "
                     f"{serving['wait_max_s']:.1f} s; answer total p95 {serving['total_p95_s']:.1f} s.")
    if results.get("scaling"):
        lines += ["", "| articles | chunks | ingest (s) | disk (MB) | retrieval p50 (ms) | peak RSS (MB) |",
                  "|---|---|---|---|---|---|"]
        for row in results["scaling"]["rows"]:
            lines.append("| " + " | ".join(_fmt(row[key]) for key in ("articles", "chunks", "seconds", "disk_mb",
                                                                       "retrieval_p50_ms", "peak_rss_mb")) + " |")
        growth = results["scaling"]["growth_exponent"]
        lines.append("\nGrowth (exponent b of n^b): " + ", ".join(f"{k} {_fmt(v)}" for k, v in growth.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
