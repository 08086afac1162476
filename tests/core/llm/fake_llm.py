"""A loopback OpenAI-compatible chat-completions server for the LLM tests (Starlette on uvicorn, 127.0.0.1).

Answers are scripted: ``FakeLLM.script(*steps)`` queues steps, each served by one request in order; an empty
queue serves ``FakeLLM.default``. A step is ``("answer", text)`` (200 with ``text`` as the message content),
``(status, body)`` for an error status (429, 500, 401...), or ``("slow", seconds, text)``. Every request is
recorded (headers, JSON body) so a test can assert what the client sent. A request without ``Bearer <api_key>``
gets a 401 that echoes the key it was sent.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Iterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

GOOD = json.dumps({"hypothesis": "short-term reversal", "alphas": [
    {"expression": "rank(-ts_delta(close, 5))", "rationale": "a week's losers bounce back",
     "settings": {"decay": 4}}]})


class FakeLLM:
    """Scripted chat-completions server state: ``steps`` (queue), ``requests`` (what was received)."""

    def __init__(self, api_key: str = "sk-loopback-test-key-0000"):
        self.api_key = api_key
        self.steps: deque = deque()
        self.default_answer = GOOD
        self.default = ("answer", GOOD)
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.url = ""

    def script(self, *steps) -> None:
        """Queue ``steps`` after the ones already queued."""
        with self.lock:
            self.steps.extend(steps)

    def _next(self):
        with self.lock:
            return self.steps.popleft() if self.steps else self.default

    async def chat(self, request: Request):
        body = await request.json()
        with self.lock:
            self.requests.append({"headers": dict(request.headers), "body": body})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            sent = request.headers.get("authorization", "").removeprefix("Bearer ")
            # like a careless provider: the refused key is echoed in the error (the client must scrub it)
            return JSONResponse({"error": {"message": f"Incorrect API key provided: {sent}",
                                           "type": "invalid_request_error",
                                           "code": "invalid_api_key"}}, status_code=401)
        step = self._next()
        if step[0] == "slow":
            await asyncio.sleep(step[1])   # the client's timeout fires first
            step = ("answer", step[2])
        if step[0] != "answer":
            status, message = step
            headers = {"retry-after": "0.01"} if status == 429 else {}
            return JSONResponse({"error": {"message": message, "type": "server_error", "code": status}},
                                status_code=status, headers=headers)
        text = step[1]
        prompt = sum(len(m.get("content") or "") for m in body.get("messages", [])) // 4
        return JSONResponse({
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": len(text) // 4 + 1,
                      "total_tokens": prompt + len(text) // 4 + 1}})


@contextmanager
def serve(fake: FakeLLM) -> Iterator[FakeLLM]:
    """Serve ``fake`` on 127.0.0.1 (a free port) in a daemon thread; ``fake.url`` is the base URL (``.../v1``)."""
    from alpha_core.loopback import LOOPBACK, serve_in_thread

    app = Starlette(routes=[Route("/v1/chat/completions", fake.chat, methods=["POST"]),
                            Route("/chat/completions", fake.chat, methods=["POST"])])
    with serve_in_thread(app, 0, "fake-llm") as port:
        fake.url = f"http://{LOOPBACK}:{port}/v1"
        yield fake
