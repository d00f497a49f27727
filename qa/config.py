"""All settings in one place.

Precedence, lowest to highest: the defaults below, a ``qa.toml`` (in the working
directory, or the file named by ``QA_CONFIG``), then ``QA_<NAME>`` environment
variables. ``qa.toml`` uses the field names below as top-level keys.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting has a value we cannot use."""


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
    max_article_chars: int = 2_000_000
    # Chunk size in the embedding model's own word pieces (see README: "Chunking").
    chunk_size: int = 192
    chunk_overlap: int = 32
    # Word pieces of the "title — outlet" header embedded with each chunk.
    header_tokens: int = 40
    # Texts per embedding batch.
    embed_batch_size: int = 32
    # Passages returned by retrieval.
    top_k: int = 6
    # Fuse BM25 with vector search (reciprocal rank fusion); off = vector only.
    hybrid: bool = True
    # Weight of the vector ranking in the fusion (BM25's is 1).
    vector_weight: float = 0.5
    # Candidates each retriever contributes before fusion.
    candidates: int = 40
    # Passages sharing at least this share of word 3-grams (of the shorter one) are one passage.
    near_duplicate: float = 0.5
    # Search each outlet a question names on its own and interleave the results.
    outlet_search: bool = True
    # Questions whose best passage is less similar than this (cosine) are refused without
    # asking the model (see README: "Refusals").
    min_similarity: float = 0.25

    # LLM backend: "local" (llama.cpp, bundled GGUF) or "openai" (OpenAI or any compatible server).
    llm: str = "local"
    # Bundled model used by the local backend (see README: "Models").
    local_model: str = "qwen2.5-coder-1.5b-instruct"
    # Any other GGUF file for the local backend; overrides local_model.
    llm_model_path: str = ""
    # Model name sent to an OpenAI-compatible server.
    openai_model: str = "gpt-4o-mini"
    temperature: float = 0.0
    max_tokens: int = 256
    # Seconds before an HTTP backend gives up on one request, and retries after 429/5xx/timeouts.
    llm_timeout: float = 60.0
    llm_retries: int = 2
    # llama.cpp context window (tokens) and threads (0 = all cores).
    llm_context: int = 4096
    llm_threads: int = 0
    # A yes/no answer is "Yes" when the model's logit for Yes exceeds that for No by more than
    # this (local backend; see README: "Multi-hop questions").
    yes_no_bias: float = 0.0
    # ... and the refusal mark's logit must beat both Yes and No by this much for a yes/no question
    # to be refused (the model's first choice would be 0).
    yes_no_refusal_margin: float = 0.0
    # Longest question accepted, in characters.
    max_question_chars: int = 2000

    # Chat UI (app.py): interface and port to bind, and "user:password" to require a login.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""
    # Where files uploaded in the UI are stored before they are ingested, and the largest accepted.
    upload_dir: Path = Path(".qa/uploads")
    max_upload_mb: int = 20

    @property
    def manifest_path(self) -> Path:
        return self.index_dir / "manifest.json"


def _coerce(name: str, raw: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {kind.__name__}, got {raw!r}") from None
    if kind in (int, float) and value < 0:
        raise ConfigError(f"{name}: must not be negative, got {raw!r}")
    return value


def _field_types() -> dict[str, type]:
    hints = {"Path": Path, "str": str, "int": int, "float": float, "bool": bool}
    return {f.name: hints[str(f.type)] for f in fields(Settings)}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None


def load_settings(**overrides: Any) -> Settings:
    """Settings from defaults, qa.toml, QA_* env vars, then explicit overrides (e.g. CLI flags)."""
    types = _field_types()
    values: dict[str, Any] = {}

    toml_path = Path(os.environ.get("QA_CONFIG", "qa.toml"))
    if toml_path.is_file():
        for key, raw in _read_toml(toml_path).items():
            if key not in types:
                raise ConfigError(f"{toml_path}: unknown setting {key!r} (known: {', '.join(types)})")
            values[key] = _coerce(key, raw, types[key])

    for key, kind in types.items():
        env_name = f"QA_{key.upper()}"
        if env_name in os.environ:
            values[key] = _coerce(env_name, os.environ[env_name], kind)

    for key, raw in overrides.items():
        if raw is not None:
            values[key] = _coerce(key, raw, types[key])

    settings = Settings(**values)
    if settings.llm not in ("local", "openai"):
        raise ConfigError(f"llm: must be 'local' or 'openai', got {settings.llm!r}")
    if settings.chunk_overlap >= settings.chunk_size:
        raise ConfigError("chunk_overlap must be smaller than chunk_size")
    return settings


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, env var, current value) for every setting, for `qa config`."""
    return [(f.name, f"QA_{f.name.upper()}", _shown(f.name, getattr(settings, f.name))) for f in fields(settings)]


def _shown(name: str, value: Any) -> str:
    # A login's password is never printed.
    if name == "auth" and value:
        return f"{str(value).split(':', 1)[0]}:***"
    return str(value)
