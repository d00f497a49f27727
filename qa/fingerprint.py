"""What an answer depends on besides the question: the index, the model, the judges, the prompts and every setting.

The history log keeps one per logged answer (`qa.pipeline`) and an eval report one per run
(`qa.evaluate`, which adds the gold file); it lives beside neither, so neither imports the other.
"""

from __future__ import annotations

import hashlib
from typing import Any

from qa.config import Settings, describe
from qa.judges import answerability_digest, relevance_digest
from qa.prompts import template_files


def run_fingerprint(settings: Settings, manifest: Any, model: str | None) -> dict[str, Any]:
    """The index (`manifest`: `qa.index.Manifest`), `model`'s name, a hash of each judge that is on, a
    hash of each prompt template and every setting."""
    return {
        "index": {"dir": str(settings.index_dir), "articles": len(manifest.articles),
                  "chunk_stamp": manifest.chunk_stamp, "embedding": manifest.embedding,
                  "chunking": manifest.chunking},
        "model": model,
        "judges": {**({"relevance": relevance_digest()} if settings.evidence and settings.evidence_judge else {}),
                   **({"answerability": answerability_digest()} if settings.answerability_judge else {})},
        "prompts": {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in template_files()},
        # Every setting (the answer thresholds too), as `qa config` shows it: no login password.
        "settings": {name: value for name, _, value in describe(settings)},
    }
