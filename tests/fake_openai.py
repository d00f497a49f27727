"""A small OpenAI-compatible chat server on 127.0.0.1 for tests: streams a scripted reply, or fails on demand."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    """`reply` (a string, or a function of the request's messages) is streamed word by word, `word_delay`
    seconds apart; `mode` in {"ok", "401", "429", "500", "echo", "slow", "malformed", "drop"}
    ("echo": a 500 whose message repeats the Authorization header, as careless servers do)."""

    def __init__(self) -> None:
        self.reply = "Hello."
        self.word_delay = 0.0
        self.mode = "ok"
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                server.handle(self, body, self.headers.get("Authorization", ""))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, request: BaseHTTPRequestHandler, body: dict, auth: str) -> None:
        if self.mode in ("401", "429", "500", "echo"):
            message = f"bad request from {auth}" if self.mode == "echo" else f"scripted {self.mode}"
            payload = json.dumps({"error": {"message": message, "type": "test"}}).encode()
            request.send_response(500 if self.mode == "echo" else int(self.mode))
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(payload)))
            request.send_header("retry-after-ms", "10")
            request.end_headers()
            request.wfile.write(payload)
            return
        if self.mode == "slow":
            time.sleep(3)
        if self.mode == "malformed":
            request.send_response(200)
            request.send_header("Content-Type", "text/event-stream")
            request.end_headers()
            request.wfile.write(b"data: {this is not json\n\n")
            return
        request.send_response(200)
        request.send_header("Content-Type", "text/event-stream")
        request.end_headers()
        words = (self.reply(body["messages"]) if callable(self.reply) else self.reply).split(" ")
        for i, word in enumerate(words):
            if self.mode == "drop" and i == len(words) // 2:
                request.wfile.flush()
                request.connection.shutdown(2)
                return
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "delta": {"content": word + (" " if i < len(words) - 1 else "")},
                                  "finish_reason": None}]}
            request.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            request.wfile.flush()
            time.sleep(self.word_delay)
        done = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        request.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())


def citing(words: str, template: str):
    """A reply that cites the numbered evidence line of the prompt holding `words`: "shot down [{n}]."
    → "shot down [3]." (which number that is depends on the evidence stage, not on the test)."""
    def reply(messages: list[dict]) -> str:
        lines = re.finditer(r"^\[(\d+)\] (.*)$", messages[-1]["content"], re.MULTILINE)
        return template.format(n=next(m.group(1) for m in lines if words in m.group(2)))
    return reply
