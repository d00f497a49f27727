"""The history log: every answered question, in one SQLite file in the index folder.

Each entry keeps the question (as typed and as answered), the whole `Answer` (citations, passages,
evidence, margins, timings, model), the settings fingerprint it was answered with, the front end
and the conversation it belongs to: `qa log` lists them, the UI reopens a conversation from them,
and the answer thresholds can be re-tuned offline from real questions.

Logging never stands in the way of an answer: a log that is corrupt, locked past a short wait,
read-only or on a full disk costs a `HistoryWarning`, and the answer is given all the same.
Reading one that cannot be read is a `HistoryError`; nothing is ever deleted.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import warnings
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.config import Settings

if TYPE_CHECKING:
    from qa.answer import Answer

SCHEMA_VERSION = 1
# Seconds a write waits for another writer (another `qa ask`, the UI) before giving up with a
# warning: a write takes milliseconds, so a longer wait means something holds the log.
BUSY_TIMEOUT_S = 0.5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    id TEXT PRIMARY KEY,            -- a hash of the fingerprint
    fingerprint TEXT NOT NULL       -- JSON: index, model, prompts, every setting (qa.fingerprint.run_fingerprint)
);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    asked_at TEXT NOT NULL,         -- UTC, ISO 8601
    question TEXT NOT NULL,         -- as typed
    standalone TEXT NOT NULL,       -- as answered: a follow-up rewritten to stand alone, else the same
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    model TEXT NOT NULL,
    front_end TEXT NOT NULL,        -- cli, ui, api
    conversation_id TEXT,           -- the UI's chat session; NULL for a single question
    fingerprint_id TEXT NOT NULL REFERENCES fingerprints (id),
    record TEXT NOT NULL            -- JSON: Answer.to_dict()
);
CREATE INDEX IF NOT EXISTS answers_by_conversation ON answers (conversation_id, id);
"""


class HistoryError(Exception):
    """The log cannot be read (corrupt, locked, written by a newer newsqa) or has no such entry."""


class HistoryWarning(UserWarning):
    """An answer could not be logged; the answer itself is unaffected."""


@dataclass
class Entry:
    """One logged answer. `answer` is `Answer.to_dict()` as it was; `fingerprint` is filled by
    `entry` only (many entries share one: `fingerprint_id` names it)."""

    id: int
    asked_at: str
    question: str
    standalone: str
    answer: dict[str, Any]
    refused: bool
    model: str
    front_end: str
    conversation_id: str | None
    fingerprint_id: str
    fingerprint: dict[str, Any] = field(default_factory=dict)

    def turn_dict(self) -> dict[str, Any]:
        """This entry as a conversation turn, in `qa.conversation.Turn.to_dict`'s shape."""
        return {"question": self.question, "standalone": self.standalone, "answer": self.answer}


@dataclass
class Conversation:
    """A chat session of the UI, for reopening it: when it started, its first question, its length."""

    id: str
    started_at: str
    first_question: str
    turns: int


def log_answer(settings: Settings, answer: Answer, fingerprint: dict[str, Any], *, question: str | None = None,
               conversation_id: str | None = None, front_end: str = "cli") -> int | None:
    """Log `answer` (to `question` as typed, when the answer is to its standalone rewrite); its id,
    or None with a `HistoryWarning` when the log cannot be written."""
    record = answer.to_dict()
    blob = json.dumps(fingerprint, sort_keys=True, ensure_ascii=False)
    fingerprint_id = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]
    path = settings.history_path
    try:
        with closing(_open_for_writing(path)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR IGNORE INTO fingerprints (id, fingerprint) VALUES (?, ?)", (fingerprint_id, blob))
            cursor = db.execute(
                "INSERT INTO answers (asked_at, question, standalone, answer, refused, model, front_end, "
                "conversation_id, fingerprint_id, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (datetime.now(timezone.utc).isoformat(timespec="milliseconds"), question or answer.question,
                 answer.question, answer.text, int(answer.refused), answer.model, front_end, conversation_id,
                 fingerprint_id, json.dumps(record, ensure_ascii=False)))
            db.execute("COMMIT")
            return cursor.lastrowid
    except (sqlite3.Error, OSError, HistoryError) as error:
        warnings.warn(f"the answer was not logged to {path}: {error}", HistoryWarning, stacklevel=2)
        return None


def _open_for_writing(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit: transactions are begun explicitly, and IMMEDIATE, so a busy log fails at once
    # rather than halfway through.
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        # WAL: readers (`qa log`, the UI's history list) never wait for a writer, nor it for them.
        db.execute("PRAGMA journal_mode=WAL")
        if _version(db, path) < SCHEMA_VERSION:
            # IF NOT EXISTS: another process may create the tables at the same time.
            db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
    except BaseException:
        db.close()
        raise
    return db


def _version(db: sqlite3.Connection, path: Path) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(f"{path} was written by a newer newsqa (log version {version}; this one reads "
                           f"{SCHEMA_VERSION})")
    return version


# --- reading -------------------------------------------------------------------

_COLUMNS = ("answers.id, asked_at, question, standalone, record, refused, model, front_end, conversation_id, "
            "fingerprint_id")


def entries(settings: Settings, *, limit: int | None = None) -> list[Entry]:
    """The logged answers, newest first (all of them when `limit` is None)."""
    rows = _read(settings, f"SELECT {_COLUMNS} FROM answers ORDER BY id DESC LIMIT ?",
                 (-1 if limit is None else limit,))
    return [_entry(row) for row in rows]


def entry(settings: Settings, entry_id: int) -> Entry:
    """One logged answer with its settings fingerprint; HistoryError if there is none with that id."""
    rows = _read(settings, f"SELECT {_COLUMNS}, fingerprint FROM answers JOIN fingerprints "
                           "ON fingerprints.id = fingerprint_id WHERE answers.id = ?", (entry_id,))
    if not rows:
        raise HistoryError(f"no logged question has id {entry_id} in {settings.history_path}")
    found = _entry(rows[0][:-1])
    found.fingerprint = json.loads(rows[0][-1])
    return found


def conversations(settings: Settings, *, limit: int = 50) -> list[Conversation]:
    """The UI's conversations, the most recently continued first."""
    rows = _read(settings, """
        SELECT conversation_id, MIN(asked_at),
               (SELECT question FROM answers AS first WHERE first.conversation_id = answers.conversation_id
                ORDER BY id LIMIT 1),
               COUNT(*)
        FROM answers WHERE conversation_id IS NOT NULL
        GROUP BY conversation_id ORDER BY MAX(id) DESC LIMIT ?""", (limit,))
    return [Conversation(*row) for row in rows]


def conversation(settings: Settings, conversation_id: str) -> list[Entry]:
    """A conversation's answers in the order they were given."""
    rows = _read(settings, f"SELECT {_COLUMNS} FROM answers WHERE conversation_id = ? ORDER BY id",
                 (conversation_id,))
    return [_entry(row) for row in rows]


def _read(settings: Settings, query: str, parameters: tuple) -> list[tuple]:
    path = settings.history_path
    if not path.is_file():
        return []
    try:
        # Read-only: reading never creates, changes or repairs the file.
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)) as db:
            if _version(db, path) == 0:
                return []  # created by a writer that has not yet added the tables
            return db.execute(query, parameters).fetchall()
    except sqlite3.Error as error:
        raise HistoryError(f"cannot read the history log {path}: {error} (the file was left as it is)") from None


def _entry(row: tuple) -> Entry:
    id_, asked_at, question, standalone, record, refused, model, front_end, conversation_id, fingerprint_id = row
    return Entry(id_, asked_at, question, standalone, json.loads(record), bool(refused), model, front_end,
                 conversation_id, fingerprint_id)
