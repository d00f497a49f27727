"""newsqa chat UI (minimal): shows the passages retrieval picks for a question.

Run `make demo`, or `python app.py [--host H] [--port P]`. Binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import html

import qa  # noqa: F401  (goes offline before gradio loads)
import gradio as gr

from qa import pipeline
from qa.config import load_settings

SETTINGS = load_settings()


def respond(message: str, history: list) -> str:
    if not message.strip():
        return "Please type a question."
    passages = pipeline.search(SETTINGS, message)
    if not passages:
        return "The articles do not cover this."
    lines = ["**Passages that bear on your question** (answers with citations arrive with the LLM):", ""]
    for n, p in enumerate(passages, start=1):
        snippet = " ".join(p.text.split())
        lines.append(f"[{n}] **{html.escape(p.title)}** — `{html.escape(p.doc_id)}` "
                     f"(similarity {p.similarity:.2f})  \n> {html.escape(snippet[:400])}")
    return "\n\n".join(lines)


def build() -> gr.Blocks:
    with gr.Blocks(title="newsqa") as demo:
        gr.Markdown("# newsqa\nAsk about the articles in the index.")
        gr.ChatInterface(respond, examples=["Why was Blinken's trip to China cancelled?"], api_name="chat")
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    args = parser.parse_args()
    pipeline.retriever(SETTINGS)  # load the index and model before the first question
    build().queue().launch(server_name=args.host, server_port=args.port, share=False)


if __name__ == "__main__":
    main()
