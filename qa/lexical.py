"""BM25 over chunk texts (bm25s), saved next to the Chroma index and stamped with its chunk set."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

# Part of the stamp: an index saved in an older layout is rebuilt rather than misread.
FORMAT = 2
# bm25s's default pattern drops one-character tokens; numbers such as "8" matter in news questions.
_TOKEN_PATTERN = r"(?u)\b\w+\b"


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, token_pattern=_TOKEN_PATTERN, stopwords="en",
                          return_ids=False, show_progress=False)


def build_bm25(folder: Path, chunk_ids: list[str], doc_ids: list[str], texts: list[str], stamp: str) -> None:
    """Build and save atomically: a half-written folder is never read as current.

    Two processes may rebuild at once (a running UI and `qa ingest`), so each writes its own temp folder.
    """
    import bm25s

    tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if chunk_ids:
        model = bm25s.BM25()
        model.index(tokenize(texts), show_progress=False)
        model.save(str(tmp), show_progress=False)
    (tmp / "ids.json").write_text(json.dumps({"chunks": chunk_ids, "docs": doc_ids}))
    (tmp / "stamp").write_text(stamp)
    shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(tmp, folder)
    except OSError:  # the other process put its folder there first; each is rebuilt when its stamp is stale
        shutil.rmtree(tmp, ignore_errors=True)


class BM25Index:
    """Loaded BM25 index; `search` gives (chunk_id, score) best first."""

    def __init__(self, folder: Path) -> None:
        import bm25s

        ids = json.loads((folder / "ids.json").read_text())
        self.chunk_ids: list[str] = ids["chunks"]
        # Rows of each article, for restricting a search to some articles without scanning all rows.
        self.rows: dict[str, list[int]] = {}
        for row, doc_id in enumerate(ids["docs"]):
            self.rows.setdefault(doc_id, []).append(row)
        self.doc_of: dict[str, str] = dict(zip(self.chunk_ids, ids["docs"]))
        self.model = bm25s.BM25.load(str(folder), show_progress=False) if self.chunk_ids else None

    def search(self, query: str, k: int, doc_ids: list[str] | None = None) -> list[tuple[str, float]]:
        """Best chunks for `query`, only from `doc_ids` when given."""
        if self.model is None or k <= 0:
            return []
        tokens = [t for t in tokenize([query])[0] if t in self.model.vocab_dict]
        if not tokens:
            return []
        mask = None
        if doc_ids is not None:
            mask = np.zeros(len(self.chunk_ids), dtype=np.float32)
            for doc_id in doc_ids:
                mask[self.rows.get(doc_id, [])] = 1.0
            k = min(k, int(mask.sum()))
            if k == 0:
                return []
        k = min(k, len(self.chunk_ids))
        indices, scores = self.model.retrieve([tokens], k=k, show_progress=False, n_threads=1, weight_mask=mask)
        return [(self.chunk_ids[i], float(s)) for i, s in zip(indices[0], scores[0]) if s > 0 and np.isfinite(s)]
