"""All settings in one place.

Precedence, lowest to highest: the defaults below, a ``qa.toml`` (in the working
directory, or the file named by ``QA_CONFIG``), then ``QA_<NAME>`` environment
variables. ``qa.toml`` uses the field names below as top-level keys.

Every `Settings` (also one made by ``dataclasses.replace``) checks its values: types, and the
limits declared with `_limited`, so a bad value fails at once with one line naming the setting.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from qa import __version__


class ConfigError(ValueError):
    """A setting has a value we cannot use; `setting` names it when it is one field's value."""

    def __init__(self, message: str, setting: str = "") -> None:
        super().__init__(message)
        self.setting = setting


def env_name(setting: str) -> str:
    return f"QA_{setting.upper()}"


@dataclass(frozen=True)
class _Limits:
    """The values one setting allows (bounds are inclusive, except `above`)."""

    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    one_of: tuple[str, ...] = ()

    def allow(self, value: Any) -> bool:
        return ((self.at_least is None or value >= self.at_least) and (self.above is None or value > self.above)
                and (self.at_most is None or value <= self.at_most) and (not self.one_of or value in self.one_of))

    def __str__(self) -> str:
        if self.one_of:
            return "one of " + ", ".join(map(repr, self.one_of))
        if self.at_least is not None and self.at_most is not None:
            return f"between {self.at_least} and {self.at_most}"
        rules = [f"greater than {self.above}" if self.above is not None else "",
                 f"at least {self.at_least}" if self.at_least is not None else "",
                 f"at most {self.at_most}" if self.at_most is not None else ""]
        return " and ".join(rule for rule in rules if rule)


def _limited(default: Any, **limits: Any) -> Any:
    """A field whose value must stay within `limits` (see `_Limits`)."""
    return field(default=default, metadata={"limits": _Limits(**limits)})


# Field annotations are strings here (`from __future__ import annotations`).
_KINDS = {"Path": Path, "str": str, "int": int, "float": float, "bool": bool}
_KIND_NAMES = {Path: "a path", str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _kind(spec: Field) -> type:
    return _KINDS[str(spec.type)]


def _typed(spec: Field, value: Any) -> Any:
    """`value` as the field's type (an int passes as a float, text as a path), or a ConfigError."""
    kind = _kind(spec)
    # bool is a subclass of int: True is not a number here, nor 1 a bool.
    if isinstance(value, bool) == (kind is bool):
        if kind is float and isinstance(value, int):
            return float(value)
        if kind is Path and isinstance(value, (str, os.PathLike)):
            return Path(value)
        if isinstance(value, kind):
            return value
    raise _invalid(spec.name, f"must be {_KIND_NAMES[kind]}", value)


def _invalid(name: str, rule: str, value: Any) -> ConfigError:
    return ConfigError(f"{name} {rule}, got {value!r} ({env_name(name)})", setting=name)


@dataclass(frozen=True)
class Settings:
    # Where the Chroma index, its manifest and the BM25 index live.
    index_dir: Path = Path(".qa/index")
    # Folder ingested by `make demo` and used when `qa ingest` gets no path.
    corpus_dir: Path = Path("corpus")
    # Chroma collection name inside index_dir.
    collection: str = "articles"
    # A Chroma server (http://host:port) to keep the chunks and vectors in, instead of the embedded
    # store in index_dir/chroma; index_dir then holds only the manifest and the BM25 index.
    chroma_url: str = ""
    # Longer articles are skipped with a message (a file that size is a book or a dump, not news).
    max_article_chars: int = _limited(2_000_000, at_least=1)
    # Chunk size in the embedding model's own word pieces (see docs/how-it-works.md, "Index"): what BM25 ranks,
    # `qa search` and the source viewer show; dense search ranks a chunk by its best sentence.
    chunk_size: int = _limited(512, at_least=16)
    # Word pieces neighbouring chunks share (fewer than chunk_size).
    chunk_overlap: int = _limited(64, at_least=0)
    # Word pieces of the "title — outlet" header embedded with each chunk (its vector gives a
    # passage's similarity to the question).
    header_tokens: int = _limited(40, at_least=0)
    # Texts per embedding batch.
    embed_batch_size: int = _limited(32, at_least=1)
    # Passages returned by retrieval (and read whole by the model when `evidence` is off).
    top_k: int = _limited(6, at_least=1)
    # The evidence stage (see docs/how-it-works.md, "Evidence"): the model reads the best sentences of the top
    # `evidence_passages` passages, at most `context_tokens` word pieces of them, instead of whole passages.
    evidence: bool = True
    evidence_passages: int = _limited(20, at_least=1)
    context_tokens: int = _limited(500, at_least=16)
    # A sentence's score: cosine to the question + this weight × BM25 over the candidate sentences
    # (scaled to the best) ...
    evidence_bm25_weight: float = _limited(0.6, at_least=0)
    # Sentences are also compared with each part of a multi-part question ("X, while Y"), each
    # scoring its best match (`qa.question.parts`) ...
    evidence_parts: bool = True
    # ... + this weight / (rank of its passage in retrieval, from 1).
    evidence_rank_weight: float = _limited(0.5, at_least=0)
    # Every article whose best sentence scores within this of the best sentence overall gets that
    # sentence first (coverage across articles: a comparison needs both sides).
    evidence_article_margin: float = _limited(0.15, at_least=0)
    # The relevance judge trained here (qa/judges/relevance; its README.md has the data and the
    # out-of-fold figures) re-scores the cheap score's best sentences: MiniLM fine-tuned on
    # MultiHop-RAG questions and their gold sentences. Off by default: it holds more of the evidence
    # but answered no more questions right with the 1.5B (docs/how-it-works.md, "The relevance judge").
    evidence_judge: bool = False
    # Fuse BM25 with vector search (reciprocal rank fusion); off = vector only.
    hybrid: bool = True
    # Weight of the vector ranking in the fusion (BM25's is 1).
    vector_weight: float = _limited(0.2, at_least=0)
    # Candidates each retriever contributes before fusion.
    candidates: int = _limited(40, at_least=1)
    # Passages sharing at least this share of word 3-grams (of the shorter one) are one passage
    # (above 0: at 0 every passage would fold into the first).
    near_duplicate: float = _limited(0.5, above=0, at_most=1)
    # Search each outlet a question names on its own and interleave the results ...
    outlet_search: bool = True
    # ... and each publication date it names ("published on November 6, 2023").
    date_search: bool = True
    # Read what a question says about time (see docs/time.md): "last week", "the past 3 days",
    # "yesterday", and named months, years and "since <date>" that articles were published in, become
    # a publication-date filter; "the latest news on" prefers newer articles ...
    time_phrases: bool = True
    # ... by a ranking of the candidates newest first, fused with this weight (BM25's is 1).
    recency_weight: float = _limited(1.0, at_least=0)
    # A question about how something developed ("How did … unfold?", "timeline of …") also gets its
    # evidence as a dated list of events, each cited (see docs/time.md).
    timelines: bool = True
    # A TOML file of extra outlet aliases (`"Beeb" = "BBC News"`), added to the built-in table.
    outlet_aliases: str = ""
    # Question rules (see docs/question-rules.md): refuse at once when the question asks what an
    # outlet reported and no article from it is indexed ...
    source_refusal: bool = True
    # ... open a verdict question's answer with Yes or No read from the model's logits ...
    yes_no_verdict: bool = True
    # ... answer an either/or question ("Was it X or Y?") the model would refuse with the option it
    # finds likelier, among those whose words the evidence holds ...
    either_or_choice: bool = True
    # ... and give the passages of a question about time in date order, and say so.
    date_order: bool = True
    # When the model finds no answer, quote the passage sentence closest to the question, if its
    # cosine similarity to the question reaches `closest_min_similarity` (see docs/question-rules.md, "Refusals").
    refusal_shows_closest: bool = True
    closest_min_similarity: float = _limited(0.5, at_least=-1, at_most=1)
    # Questions whose best passage is less similar than this (cosine) are refused without
    # asking the model (see docs/question-rules.md, "Refusals").
    min_similarity: float = _limited(0.25, at_least=-1, at_most=1)
    # A sentence the model left uncited is cited to a passage this similar to it (cosine; above 0,
    # since scores are divided by it to pick the passage)...
    attribution_min_similarity: float = _limited(0.55, above=0, at_most=1)
    # ... or when the passage holds this share of the sentence's content words.
    attribution_min_word_share: float = _limited(0.75, above=0, at_most=1)
    # A citation the model wrote is kept when its passage is this similar to the sentence (lower than
    # attribution's: the model chose the passage)...
    verify_min_similarity: float = _limited(0.40, at_least=0, at_most=1)
    # ... or holds this share of the sentence's content words.
    verify_min_word_share: float = _limited(0.50, at_least=0, at_most=1)

    # LLM backend: "local" (llama.cpp, bundled GGUF) or "openai" (OpenAI or any compatible server).
    llm: str = _limited("local", one_of=("local", "openai"))
    # Bundled model used by the local backend: this or "qwen2.5-coder-0.5b-instruct" (see
    # docs/how-it-works.md, "Models").
    local_model: str = "qwen2.5-coder-1.5b-instruct"
    # The fast preset: the bundled 0.5B instead of local_model, same pipeline (`--fast`; see
    # docs/how-it-works.md, "Models").
    fast: bool = False
    # Any other GGUF file for the local backend; overrides local_model and fast.
    llm_model_path: str = ""
    # Model name sent to an OpenAI-compatible server.
    openai_model: str = "gpt-4o-mini"
    # Sampling temperature (0 = always the likeliest token) and the longest answer, in model tokens.
    temperature: float = _limited(0.0, at_least=0, at_most=2)
    max_tokens: int = _limited(256, at_least=1)
    # Seconds before an HTTP backend gives up on one request, and retries after 429/5xx/timeouts.
    llm_timeout: float = _limited(60.0, above=0)
    llm_retries: int = _limited(2, at_least=0)
    # llama.cpp context window (tokens) and threads (0 = all cores).
    llm_context: int = _limited(4096, at_least=256)
    llm_threads: int = _limited(0, at_least=0)
    # The local model answers one question at a time, in the order they come; a question it is serving
    # that asks nothing of it for this many seconds loses its turn (its reader has gone without a word).
    model_idle_timeout: float = _limited(10.0, above=0)
    # A yes/no answer is "Yes" when the model's logit for Yes exceeds that for No by more than
    # this (local backend; see docs/question-rules.md, "Multi-hop questions").
    yes_no_bias: float = 0.0
    # ... and the refusal mark's logit must beat both Yes and No by this much for a yes/no question
    # to be refused (the model's first choice would be 0).
    yes_no_refusal_margin: float = 0.0
    # A fact question the model would refuse by less than this (its logit for the refusal mark minus
    # that of its best other first token) is answered after all, starting with that token; 0 = the
    # model's refusal always stands (local backend; see docs/question-rules.md, "Refusals the model is not
    # sure of").
    refusal_margin: float = _limited(1.3, at_least=0)
    # ... and kept only if this share of its content words that the question lacks occur in the evidence.
    grounding_min_share: float = _limited(0.6, at_least=0, at_most=1)
    # The answerability judge trained here (qa/judges/answerability; its README.md has the data and the
    # out-of-fold curve) reads the question with its evidence before the model writes. When it gives
    # the evidence less than `answerability_threshold` probability of supporting an answer, the reply
    # says the articles do not say that and quotes what they report nearest to it, if anything is
    # near. Off by default: it tells MultiHop-RAG's null queries from answerable questions, but not the
    # natural set's false premises, and answered no more questions right on any set
    # (docs/question-rules.md, "The answerability judge").
    answerability_judge: bool = False
    answerability_threshold: float = _limited(0.25, at_least=0, at_most=1)
    # Longest question accepted, in characters.
    max_question_chars: int = _limited(2000, at_least=1)
    # Log every answered question (answer, citations, passages, settings fingerprint, timings) to
    # history.sqlite3 in index_dir: `qa log` lists it, the UI reopens conversations from it, and
    # thresholds can be re-tuned from real questions. `qa eval` never logs.
    history: bool = True

    # Chat UI (app.py): interface and port to bind, and "user:password" to require a login.
    host: str = "127.0.0.1"
    port: int = _limited(7860, at_least=1, at_most=65535)
    auth: str = ""
    # "true": the UI cannot add or remove articles (the controls are hidden, and refused if called);
    # "auto": read-only when the UI listens beyond loopback (a shared UI); "false": never.
    read_only: str = _limited("auto", one_of=("auto", "true", "false"))
    # Questions one client (a browser page or API client) may have in flight at once: the local model
    # answers one at a time, so one client's burst would make everyone else wait.
    max_questions_per_client: int = _limited(2, at_least=1)
    # Where files uploaded in the UI are stored before they are ingested, and the largest accepted.
    upload_dir: Path = Path(".qa/uploads")
    max_upload_mb: int = _limited(20, at_least=1)

    # Web pages and feeds (`qa ingest URL`, `--feeds`): seconds before one request gives up, the
    # largest response read (a bigger one is skipped, not read past the limit), and the user agent
    # sent; robots.txt rules for that agent are respected.
    fetch_timeout: float = _limited(20.0, above=0)
    fetch_max_mb: float = _limited(10.0, above=0)
    user_agent: str = f"newsqa/{__version__} (+local)"
    # Whether URLs pasted in the UI may point at local addresses (loopback, private, link-local such as
    # cloud metadata at 169.254.169.254, multicast, reserved). Off: a UI login cannot make the server
    # fetch services inside its own network. `qa ingest URL` (run by the owner) always may.
    ui_fetch_local: bool = False

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = _typed(spec, getattr(self, spec.name))
            object.__setattr__(self, spec.name, value)  # frozen, but 3 may become 3.0 and "x" Path("x")
            limits = spec.metadata.get("limits")
            if limits is not None and not limits.allow(value):
                raise _invalid(spec.name, f"must be {limits}", value)
        if self.chunk_overlap >= self.chunk_size:
            raise _invalid("chunk_overlap", f"must be smaller than chunk_size ({self.chunk_size})", self.chunk_overlap)

    @property
    def manifest_path(self) -> Path:
        return self.index_dir / "manifest.json"

    @property
    def history_path(self) -> Path:
        return self.index_dir / "history.sqlite3"


def _parse(label: str, raw: Any, kind: type) -> Any:
    """Text (an env var, a quoted TOML value) as the field's type; `Settings` checks other values itself."""
    if not isinstance(raw, str) or kind in (str, Path):
        return raw
    if kind is bool:
        text = raw.strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{label}: expected true or false, got {raw!r}")
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{label}: expected {kind.__name__}, got {raw!r}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults, qa.toml, QA_* env vars, then explicit overrides (e.g. CLI flags)."""
    kinds = {spec.name: _kind(spec) for spec in fields(Settings)}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}  # where each value came from, for the error message if it is bad

    def take(key: str, raw: Any, label: str, source: str) -> None:
        values[key] = _parse(label, raw, kinds[key])
        sources[key] = source

    toml_path = Path(os.environ.get("QA_CONFIG", "qa.toml"))
    if toml_path.is_file():
        for key, raw in _read_toml(toml_path).items():
            if key not in kinds:
                raise ConfigError(f"{toml_path}: unknown setting {key!r} (known: {', '.join(kinds)})")
            take(key, raw, f"{toml_path}: {key}", f"in {toml_path}")

    for key in kinds:
        if env_name(key) in os.environ:
            take(key, os.environ[env_name(key)], env_name(key), "in the environment")

    for key, raw in overrides.items():
        if raw is not None:
            take(key, raw, key, "on the command line")

    try:
        return Settings(**values)
    except ConfigError as error:
        if error.setting not in sources:
            raise
        raise ConfigError(f"{error}, set {sources[error.setting]}", error.setting) from None


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, env var, current value) for every setting, for `qa config`."""
    return [(f.name, env_name(f.name), _shown(f.name, getattr(settings, f.name))) for f in fields(settings)]


def _shown(name: str, value: Any) -> str:
    # A login's password is never printed.
    if name == "auth" and value:
        return f"{str(value).split(':', 1)[0]}:***"
    return str(value)
