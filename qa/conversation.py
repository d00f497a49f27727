"""Conversations: follow-up questions made standalone before retrieval, and export as Markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from qa.answer import Answer, Citation, strip_markers
from qa.llm import LLM, generate
from qa.prompts import render
from qa.timeline import Event
from qa.types import byline

# A question that leans on the conversation: it opens like a continuation or points back at
# something named earlier. Others are searched as asked (no model call).
_FOLLOW_UP = re.compile(
    r"^\W*(and|but|also|so|then|what about|how about|why not)\b"
    r"|\b(it|its|it's|they|them|their|theirs|he|him|his|she|her|hers|this|that|these|those|there|the same)\b",
    re.IGNORECASE)
# Turns of history the rewrite sees, and characters of each answer.
HISTORY_TURNS = 3
ANSWER_CHARS = 400


@dataclass
class Turn:
    """One question of a conversation: as asked, as searched, and its answer."""

    question: str
    standalone: str
    answer: Answer

    def to_dict(self) -> dict:
        answer = self.answer.to_dict()
        answer.pop("passages")  # the citations carry what a reader needs; passages are bulky
        return {"question": self.question, "standalone": self.standalone, "answer": answer}

    @classmethod
    def from_dict(cls, data: dict) -> "Turn":
        fields = dict(data["answer"])
        fields["text"] = fields.pop("answer")
        fields["citations"] = [Citation(**c) for c in fields.get("citations", [])]
        fields["timeline"] = [Event(**e) for e in fields.get("timeline", [])]
        fields.pop("passages", None)
        fields.pop("evidence", None)  # quotes only; the citations hold what a reloaded answer shows
        return cls(data["question"], data.get("standalone") or data["question"], Answer(**fields))


def needs_context(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question))


def standalone_question(question: str, history: list[Turn], llm: LLM) -> str:
    """`question` rewritten by the model to stand on its own, when it refers back to `history`."""
    if not history or not needs_context(question):
        return question
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        reply = " ".join(strip_markers(turn.answer.text).split())
        lines += [f"Q: {turn.standalone}", f"A: {reply[:ANSWER_CHARS]}"]
    messages = [{"role": "system", "content": render("rewrite.system")},
                {"role": "user", "content": render("rewrite.user", history="\n".join(lines), question=question)}]
    reply = generate(llm, messages, max_tokens=80, temperature=0.0)
    return _clean_rewrite(reply) or question


def _clean_rewrite(reply: str) -> str:
    line = next((line for line in reply.splitlines() if line.strip()), "")
    line = re.sub(r"^\W*(standalone question|rewritten question|question)\s*:\s*", "", line.strip(), flags=re.I)
    return line.strip(" \"'“”")


def to_markdown(turns: list[Turn], *, title: str = "newsqa conversation") -> str:
    """The conversation with every [n] resolved to its article's title, outlet, date and quoted span."""
    out = [f"# {title}", "", f"Exported {datetime.now():%Y-%m-%d %H:%M}.", ""]
    for number, turn in enumerate(turns, start=1):
        out += [f"## {number}. {turn.question}", ""]
        if turn.standalone != turn.question:
            out += [f"*Searched for: {turn.standalone}*", ""]
        out += [turn.answer.text, ""]
        for c in turn.answer.citations:
            meta = byline(c, ", ")
            out.append(f"- [{c.n}] **{c.title}**" + (f" ({meta})" if meta else "") + f", `{c.doc_id}`,"
                       f" characters {c.quote_start}–{c.quote_end}:  \n  > {c.quote}")
        for sentence in turn.answer.unsupported:
            out.append(f"- *Not backed by any passage:* {sentence}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
