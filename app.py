"""newsqa chat UI (minimal): streams cited answers and lists the sources under each one.

Run `make demo`, or `python app.py [--host H] [--port P]`. Binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import html
from typing import Iterator

import qa  # noqa: F401  (goes offline before gradio loads)
import gradio as gr

from qa import pipeline
from qa.answer import Answer, QuestionError
from qa.config import load_settings
from qa.index import IndexProblem
from qa.llm import LLMError

SETTINGS = load_settings()


def render_sources(answer: Answer) -> str:
    if answer.refused:
        return ""
    lines = ["", "**Sources**", ""]
    for c in answer.citations:
        meta = " · ".join(part for part in (c.source, c.published_at[:10]) if part)
        lines.append(f"[{c.n}] **{html.escape(c.title)}** — `{html.escape(c.doc_id)}`"
                     + (f" ({html.escape(meta)})" if meta else "")
                     + f"  \n> {html.escape(c.quote)}")
    return "\n".join(lines)


def respond(message: str, history: list) -> Iterator[str]:
    try:
        draft = ""
        for item in pipeline.stream_answer(SETTINGS, message):
            if isinstance(item, Answer):
                yield html.escape(item.text) + "\n" + render_sources(item)
            else:
                draft += item
                yield html.escape(draft)
    except (QuestionError, LLMError, IndexProblem) as error:
        yield f"⚠️ {html.escape(str(error))}"


def build() -> gr.Blocks:
    with gr.Blocks(title="newsqa") as demo:
        gr.Markdown("# newsqa\nAsk about the articles in the index. Every claim cites its passage.")
        gr.ChatInterface(respond, examples=["Why was Blinken's trip to China cancelled?"], api_name="chat")
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    args = parser.parse_args()
    pipeline.retriever(SETTINGS)  # load the index and models before the first question
    pipeline.llm(SETTINGS)
    build().queue().launch(server_name=args.host, server_port=args.port, share=False)


if __name__ == "__main__":
    main()
