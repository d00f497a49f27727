"""LLM backends behind one small interface: `stream(messages) -> Iterator[str]`.

- local (default): llama-cpp-python running a GGUF shipped in PyPI packages (qa/models.py),
  using the chat template stored in the GGUF.
- openai: the `openai` client against OpenAI or any compatible server (OPENAI_BASE_URL:
  Ollama, vLLM, llama.cpp server, LM Studio), with explicit timeout and bounded retries.

Both raise `LLMError` with a one-line message for every expected failure.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from qa.config import Settings
from qa.models import ModelUnavailable, bundled_model_path

Message = dict[str, str]
# The bundled model of the fast preset (setting `fast`).
FAST_MODEL = "qwen2.5-coder-0.5b-instruct"


class LLMError(RuntimeError):
    """The model could not answer (unreachable, refused, misconfigured, missing)."""


class LLM(Protocol):
    name: str
    # Prompt tokens the model has read so far, not counting a prefix reused from its cache (None where
    # the backend does not tell): a question's share is the difference across its answer.
    tokens_read: int | None
    # Tokens of the last prompt it was given, reused prefix included (None where it does not tell).
    last_prompt_tokens: int | None

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float,
               prefix: str = "") -> Iterator[str]:
        """Text deltas of the assistant's reply; with `prefix`, the reply is made to start with it."""

    def first_word_logits(self, messages: list[Message], words: list[str]) -> list[float] | None:
        """How strongly the reply would open with each of `words`, or None where the backend cannot tell."""

    def best_other_start(self, messages: list[Message], words: list[str]) -> tuple[str, float] | None:
        """The token the reply would most likely open with if it could not open with any of `words`,
        and its logit; None where the backend cannot tell."""

    def reply_logprob(self, messages: list[Message], text: str) -> float | None:
        """Log-probability that the reply opens with `text`; None where the backend cannot tell."""


def generate(llm: LLM, messages: list[Message], *, max_tokens: int, temperature: float) -> str:
    return "".join(llm.stream(messages, max_tokens=max_tokens, temperature=temperature))


class Stopped(LLMError):
    """The turn ended before the model finished (the reader stopped or left)."""


class LocalLLM:
    """llama.cpp in-process, on a thread of its own: a llama context is not thread-safe, so the model
    serves one `Turn` at a time, in the order they came, and only its own thread touches llama."""

    def __init__(self, model_path: Path, name: str, *, context: int, threads: int, idle_timeout: float) -> None:
        import llama_cpp

        self.name = name
        try:
            # llama-cpp-python defaults to half the cores; prompt reading is what we wait for.
            threads = threads or os.cpu_count() or 1
            self._llama = llama_cpp.Llama(model_path=str(model_path), n_ctx=context, n_threads=threads,
                                          n_threads_batch=threads, n_batch=512, verbose=False, seed=0)
        except ValueError as error:  # llama-cpp-python's "Failed to load model from file"
            raise LLMError(f"cannot load {model_path}: {error}") from None
        # llama.cpp logs a decode stopped on purpose (a reader's stop) as an error; real failures reach
        # us as exceptions.
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
        self.context = context
        self.idle_timeout = idle_timeout
        self.tokens_read = 0
        self.last_prompt_tokens = 0
        # llama.cpp asks its abort callback between the steps of every decode. The callback is libc's
        # strlen on this buffer: it turns true when a byte is written, with no Python (and so no GIL
        # wait) on the decode's hot path; a prompt being read stops within a fraction of a second.
        self._abort = ctypes.create_string_buffer(2)
        llama_cpp.llama_set_abort_callback(self._llama._ctx.ctx, _abort_if_set(), ctypes.addressof(self._abort))
        self._turns: deque[Turn] = deque()  # the turn being served first, then the waiting ones in order
        self._changed = threading.Condition()
        threading.Thread(target=self._serve, name=f"qa-model-{name}", daemon=True).start()

    def close(self) -> None:
        for turn in list(self._turns):
            turn.end()
        with self._changed:  # let a decode being aborted return before the model goes
            self._changed.wait_for(lambda: not self._turns, timeout=5)
        self._llama.close()

    # --- turns ---------------------------------------------------------------------------------

    def turn(self) -> Turn:
        """A place in the model's queue (`Turn`); end it, or use it as a context manager."""
        turn = Turn(self)
        with self._changed:
            self._turns.append(turn)
            self._changed.notify_all()
        return turn

    def _ahead(self, turn: Turn) -> int:
        with self._changed:
            return self._turns.index(turn) if turn in self._turns and not turn.served.is_set() else 0

    def _leave(self, turn: Turn) -> None:
        with self._changed:
            if turn.served.is_set():
                if self._turns and self._turns[0] is turn:
                    self._abort.value = b"x"  # stop what the model is doing for it now
            elif turn in self._turns:
                self._turns.remove(turn)  # never served: nobody waits behind it
            self._changed.notify_all()

    def _serve(self) -> None:
        while True:
            with self._changed:
                while not self._turns:
                    self._changed.wait()
                turn = self._turns[0]
                self._abort.value = b""
                turn.served.set()
            self._serve_turn(turn)
            with self._changed:
                self._turns.remove(turn)
                self._changed.notify_all()

    def _serve_turn(self, turn: Turn) -> None:
        """Run the turn's calls until it ends, or makes none for `idle_timeout` seconds."""
        idle_since = time.monotonic()
        while not turn.ended.is_set():
            try:
                work, results = turn.calls.get(timeout=0.1)
            except queue.Empty:
                if time.monotonic() - idle_since > self.idle_timeout:
                    turn.end()  # its reader has gone without ending it
                continue
            self._run(turn, work, results)
            idle_since = time.monotonic()
        turn.fail_pending()

    def _run(self, turn: Turn, work: Iterator, results: queue.SimpleQueue) -> None:
        """Pass what `work` yields to its caller, checking between items that the turn still stands."""
        try:
            for item in work:
                if turn.ended.is_set():
                    break
                results.put(item)
        except Exception as error:  # noqa: BLE001 (every failure goes back to the caller's thread)
            results.put(_Finished(Stopped("the answer was stopped") if turn.ended.is_set() else error))
            return
        finally:
            work.close()
        results.put(_Finished(Stopped("the answer was stopped") if turn.ended.is_set() else None))

    # --- the LLM methods, each in a turn of its own when called on the model itself -------------

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float,
               prefix: str = "") -> Iterator[str]:
        with self.turn() as turn:
            yield from turn.stream(messages, max_tokens=max_tokens, temperature=temperature, prefix=prefix)

    def first_word_logits(self, messages: list[Message], words: list[str]) -> list[float]:
        with self.turn() as turn:
            return turn.first_word_logits(messages, words)

    def best_other_start(self, messages: list[Message], words: list[str]) -> tuple[str, float]:
        with self.turn() as turn:
            return turn.best_other_start(messages, words)

    def reply_logprob(self, messages: list[Message], text: str) -> float:
        with self.turn() as turn:
            return turn.reply_logprob(messages, text)

    # --- the work, on the model's thread --------------------------------------------------------

    def _generate(self, messages: list[Message], max_tokens: int, temperature: float, prefix: str) -> Iterator[str]:
        # llama-cpp-python reuses the cached state for the prompt's longest common prefix, so a
        # prompt just scored by `first_word_logits` is not read again.
        prompt = self._prompt_tokens(messages) + self._tokenize(prefix)
        self._count_read(prompt)
        chunks = self._llama.create_completion(prompt, max_tokens=max_tokens, temperature=temperature, stream=True)
        try:
            for chunk in chunks:
                delta = chunk["choices"][0]["text"]
                if delta:
                    yield delta
        except ValueError as error:  # e.g. prompt longer than the context window
            raise LLMError(f"local model: {error}") from None
        finally:
            chunks.close()

    def _word_logits(self, messages: list[Message], words: list[str]) -> Iterator[list[float]]:
        """The model's logit for each word's first token at the start of its reply (one prompt read)."""
        logits = self._first_logits(messages)
        yield [float(logits[self._tokenize(word)[0]]) for word in words]

    def _best_other(self, messages: list[Message], words: list[str]) -> Iterator[tuple[str, float]]:
        logits = self._first_logits(messages)
        logits[[self._tokenize(word)[0] for word in words]] = -float("inf")
        best = int(logits.argmax())
        yield self._llama.detokenize([best]).decode("utf-8", errors="replace"), float(logits[best])

    def _logprob(self, messages: list[Message], text: str) -> Iterator[float]:
        import numpy as np

        tokens = self._tokenize(text)
        total = 0.0
        logits = self._first_logits(messages)
        for k, token in enumerate(tokens):
            if k:  # one token more: the prompt's state stays cached
                self._llama.eval([tokens[k - 1]])
                logits = np.ctypeslib.as_array(self._llama._ctx.get_logits(), shape=(self._llama.n_vocab(),))
            top = logits.max()
            total += float(logits[token] - top - np.log(np.exp(logits - top).sum()))
        yield total

    def _first_logits(self, messages: list[Message]):
        """Logits for the reply's first token. The prompt's state stays cached, so streaming the reply
        next does not read it again."""
        import numpy as np

        tokens = self._prompt_tokens(messages)
        llama = self._llama
        if len(tokens) > llama.n_ctx():
            raise LLMError(f"local model: the prompt has {len(tokens)} tokens; the context window is {llama.n_ctx()}")
        # Keep the state of the longest prefix already read (at least one token is evaluated).
        cached = self._count_read(tokens[:-1])
        llama.n_tokens = cached
        llama.eval(tokens[cached:])
        # Logits of the last evaluated position (llama-cpp-python keeps none unless logits_all).
        return np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).copy()

    def _count_read(self, prompt: list[int]) -> int:
        """Add what reading `prompt` costs to `tokens_read`; returns the cached prefix's length."""
        llama = self._llama
        cached = llama.longest_token_prefix(llama.input_ids[: llama.n_tokens], prompt)
        self.tokens_read += len(prompt) - cached
        self.last_prompt_tokens = len(prompt)
        return cached

    def _tokenize(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False) if text else []

    def _prompt_tokens(self, messages: list[Message]) -> list[int]:
        """The chat rendered with the GGUF's own template, ending where the assistant's reply begins."""
        rendered = self._formatter(messages=messages)
        return self._llama.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special,
                                    special=True)

    @functools.cached_property
    def _formatter(self):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llama = self._llama
        text = lambda token: llama._model.token_get_text(token) if token != -1 else ""  # noqa: E731
        return Jinja2ChatFormatter(template=llama.metadata["tokenizer.chat_template"],
                                   eos_token=text(llama.token_eos()), bos_token=text(llama.token_bos()),
                                   stop_token_ids=[llama.token_eos()])


@functools.cache
def _abort_if_set():
    """llama.cpp's abort callback: libc's strlen, true once its buffer holds a byte (see `LocalLLM`)."""
    import llama_cpp

    return llama_cpp.ggml_abort_callback(ctypes.cast(ctypes.CDLL(None).strlen, ctypes.c_void_p).value)


@dataclass(frozen=True)
class _Finished:
    """The end of one call's results: `error` is what it raised, if anything."""

    error: BaseException | None


class Turn:
    """One question's time with the local model, which serves one turn at a time, in the order they came.

    A turn waits behind the turns before it (`waiting()` says how many), then has the model to itself
    for every call it makes (the `LLM` methods), until it ends. The model runs on its own thread and
    the turn is no lock, so `end()` works from any thread (a page closed mid-answer ends its turn in
    whichever thread the server drops it) and stops the model within a token, or part-way through
    reading a prompt. A served turn that makes no call for the model's `idle_timeout` ends by itself:
    its reader has gone without saying so.
    """

    def __init__(self, model: LocalLLM) -> None:
        self._model = model
        self.calls: queue.SimpleQueue = queue.SimpleQueue()  # (work, results) for the model's thread
        self.served = threading.Event()
        self.ended = threading.Event()
        self.name = model.name

    @property
    def tokens_read(self) -> int:
        return self._model.tokens_read

    @property
    def last_prompt_tokens(self) -> int:
        return self._model.last_prompt_tokens

    def ahead(self) -> int:
        """How many turns the model serves before this one (0 once it is served)."""
        return self._model._ahead(self)

    def waiting(self, poll: float = 0.25) -> Iterator[int]:
        """Until the turn is served: the number of turns ahead of it, each time that changes."""
        shown = 0
        while not self.served.is_set() and not self.ended.is_set():
            ahead = self.ahead()
            if ahead and ahead != shown:
                shown = ahead
                yield ahead
            self.served.wait(poll)

    def end(self) -> None:
        """Give the model up, from any thread: what it runs for this turn stops, the next turn starts."""
        if not self.ended.is_set():
            self.ended.set()
            self._model._leave(self)
        self.fail_pending()

    def fail_pending(self) -> None:
        """Calls made on an ended turn are answered with `Stopped` (whichever side saw the end last)."""
        while True:
            try:
                _, results = self.calls.get_nowait()
            except queue.Empty:
                return
            results.put(_Finished(Stopped("the answer was stopped")))

    def __enter__(self) -> Turn:
        return self

    def __exit__(self, *exc) -> None:
        self.end()

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float,
               prefix: str = "") -> Iterator[str]:
        if prefix:
            yield prefix
        yield from self._call(self._model._generate(messages, max_tokens, temperature, prefix))

    def first_word_logits(self, messages: list[Message], words: list[str]) -> list[float]:
        return next(self._call(self._model._word_logits(messages, words)))

    def best_other_start(self, messages: list[Message], words: list[str]) -> tuple[str, float]:
        return next(self._call(self._model._best_other(messages, words)))

    def reply_logprob(self, messages: list[Message], text: str) -> float:
        return next(self._call(self._model._logprob(messages, text)))

    def _call(self, work: Iterator) -> Iterator:
        """What `work` yields, run on the model's thread within this turn (waiting for the turn first)."""
        results: queue.SimpleQueue = queue.SimpleQueue()
        self.calls.put((work, results))
        if self.ended.is_set():
            self.fail_pending()
        while True:
            try:  # a timeout, so that Ctrl-C reaches a waiting command line
                item = results.get(timeout=0.5)
            except queue.Empty:
                continue
            if isinstance(item, _Finished):
                if item.error is not None:
                    raise item.error
                return
            yield item


class OpenAILLM:
    """Chat completions over HTTP, streamed. The client retries 429/5xx/timeouts with backoff."""

    def __init__(self, settings: Settings) -> None:
        import openai

        base_url = os.environ.get("OPENAI_BASE_URL") or None
        api_key = os.environ.get("OPENAI_API_KEY")
        if not api_key and not base_url:
            raise LLMError("QA_LLM=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
        self.name = settings.openai_model
        self.base_url = base_url or "https://api.openai.com/v1"
        self._openai = openai
        # Local servers ignore the key, but the client insists on one.
        self._client = openai.OpenAI(api_key=api_key or "unused", base_url=base_url,
                                     timeout=settings.llm_timeout, max_retries=settings.llm_retries)
        self.timeout = settings.llm_timeout
        self._api_key = api_key or ""
        self.tokens_read = self.last_prompt_tokens = None

    def _clean(self, text: str) -> str:
        """Short, one line, and never the API key (servers echo it in error bodies)."""
        text = _short(text)
        return text.replace(self._api_key, "***") if len(self._api_key) >= 8 else text

    def first_word_logits(self, messages: list[Message], words: list[str]) -> None:
        return None  # chat APIs do not expose the next-token distribution for a prompt

    def best_other_start(self, messages: list[Message], words: list[str]) -> None:
        return None

    def reply_logprob(self, messages: list[Message], text: str) -> None:
        return None

    def stream(self, messages: list[Message], *, max_tokens: int, temperature: float,
               prefix: str = "") -> Iterator[str]:
        if prefix:
            raise ValueError("an OpenAI-compatible server cannot be made to start its reply with a prefix")
        import httpx2  # the openai client's transport; its errors can surface mid-stream

        openai = self._openai
        # The server accepted the request (its 200 came), sent a chunk, sent a finish_reason.
        accepted = received = finished = False
        try:
            response = self._client.chat.completions.create(
                model=self.name, messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True)
            accepted = True
            # Closed when the reader stops early too: otherwise the server writes the rest of the answer
            # for no one, and the next question waits for it (llama.cpp's server: a connection it sees closed).
            with response:
                for chunk in response:
                    received = True
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
                    finished = finished or choice.finish_reason is not None
        except openai.APITimeoutError:
            raise LLMError(f"the model server at {self.base_url} did not answer within {self.timeout:g}s") from None
        except openai.AuthenticationError:
            raise LLMError(f"the model server at {self.base_url} rejected the API key (401); check OPENAI_API_KEY") from None
        except openai.RateLimitError:
            raise LLMError(f"the model server at {self.base_url} is rate-limiting us (429); try again later") from None
        except openai.APIStatusError as error:
            raise LLMError(f"the model server at {self.base_url} failed ({error.status_code}): "
                           f"{self._clean(error.message)}") from None
        except openai.APIConnectionError:
            if accepted:  # it was answering, then went away (killed, crashed, restarted)
                raise LLMError(f"the model server at {self.base_url} stopped before finishing the answer "
                               "(connection lost)") from None
            raise LLMError(f"cannot reach the model server at {self.base_url}") from None
        except (openai.APIError, json.JSONDecodeError, httpx2.HTTPError) as error:  # malformed or broken streams
            raise LLMError(f"bad response from the model server at {self.base_url}: {self._clean(str(error))}") from None
        if not received:
            # llama.cpp's server fails a streamed request after its 200 (a prompt longer than its
            # context window, say) by closing the stream unwritten; the reason is only in its log.
            raise LLMError(f"the model server at {self.base_url} sent an empty reply; its log says why "
                           "(llama.cpp's server does this for a prompt longer than its context window)")
        if not finished:
            # A connection cut mid-answer can look like a normal end of stream, and llama.cpp's server
            # ends a stream with [DONE] when another request comes in: only finish_reason tells.
            raise LLMError(f"the model server at {self.base_url} stopped before finishing the answer "
                           "(no finish_reason: cut off, or interrupted by another request)")


class _Unqueued:
    """A turn on a backend that queues requests itself (an HTTP server): nothing to wait for."""

    def __init__(self, llm: LLM) -> None:
        self._llm = llm

    def __getattr__(self, name: str):
        return getattr(self._llm, name)

    def waiting(self) -> Iterator[int]:
        return iter(())

    def end(self) -> None:
        pass

    def __enter__(self) -> _Unqueued:
        return self

    def __exit__(self, *exc) -> None:
        pass


def turn(llm: LLM) -> Turn | _Unqueued:
    """A question's turn on `llm`: a place in the local model's queue, or the backend as it is."""
    return llm.turn() if isinstance(llm, LocalLLM) else _Unqueued(llm)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def local_model_path(settings: Settings) -> tuple[Path, str]:
    if settings.llm_model_path:
        path = Path(settings.llm_model_path).expanduser()
        if not path.is_file():
            raise LLMError(f"QA_LLM_MODEL_PATH points at {path}, which is not a file")
        return path, path.stem
    name = FAST_MODEL if settings.fast else settings.local_model
    try:
        return bundled_model_path(name), name
    except ModelUnavailable as error:
        raise LLMError(str(error)) from None


_cache: dict[tuple, LLM] = {}
_cache_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Free llama.cpp models while the interpreter is intact; its __del__ at teardown prints errors.
    for model in _cache.values():
        if isinstance(model, LocalLLM):
            model.close()
    _cache.clear()


def get_llm(settings: Settings) -> LLM:
    """The process-wide model for these settings (loading a GGUF takes seconds: once)."""
    # The server and key come from the environment, which may change between questions (tests, notebooks).
    key = (settings.llm, settings.local_model, settings.fast, str(settings.llm_model_path), settings.llm_context,
           settings.openai_model, settings.llm_timeout, settings.llm_retries, settings.model_idle_timeout,
           os.environ.get("OPENAI_BASE_URL", ""), os.environ.get("OPENAI_API_KEY", ""))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = _load(settings)
        return _cache[key]


def _load(settings: Settings) -> LLM:
    if settings.llm == "local":
        path, name = local_model_path(settings)
        return LocalLLM(path, name, context=settings.llm_context, threads=settings.llm_threads,
                        idle_timeout=settings.model_idle_timeout)
    if settings.llm == "openai":
        return OpenAILLM(settings)
    raise LLMError(f"QA_LLM must be 'local' or 'openai', not {settings.llm!r}")
