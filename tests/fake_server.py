"""A real OpenAI-compatible HTTP server on loopback that answers from a script.

Tests queue replies (a record to return as a tool call, an HTTP error, a hang, a
broken body) and read back what arrived, so retries and caching are counted at the
server rather than by mocking the client.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering
    cut: int | None = None  # send only this many bytes of the body, then close
    trickle: float = 0.0  # seconds between single bytes of the body
    content_type: str = "application/json"


def completion(arguments: str, *, prompt_tokens: int = 100, completion_tokens: int = 50,
               finish_reason: str = "stop", tool: str = "DisputedItems") -> Reply:  # fmt: skip
    """A chat completion whose single tool call carries `arguments` (JSON text)."""
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [{
            "index": 0,
            "finish_reason": finish_reason,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [{
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": tool, "arguments": arguments},
                }],
            },
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }  # fmt: skip
    return Reply(body=json.dumps(body).encode())


def html_page(status: int = 200) -> Reply:
    """What a proxy, load balancer or captive portal answers in a model's place: an HTML page."""
    body = b"<!doctype html><html><head><title>Gateway</title></head><body><h1>Please log in</h1></body></html>"
    return Reply(status=status, body=body, content_type="text/html; charset=utf-8")


def error(status: int, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"error": {"message": f"fake {status}", "type": "fake", "code": status}})
    return Reply(status=status, body=body.encode(), headers=headers or {})


POLL = 0.02
"""How often a server checks for shutdown: the default 0.5 s would add half a second to every test."""


class FakeOpenAI:
    """Serves queued replies in order; the last reply repeats once the queue runs dry."""

    def __init__(self, one_at_a_time: bool = False) -> None:
        self.replies: list[Reply | Callable[[dict[str, Any]], Reply]] = []
        # llama_cpp.server takes every request but answers one at a time: the rest wait behind a lock.
        self._answering = threading.Lock() if one_at_a_time else contextlib.nullcontext()
        self.requests: list[dict[str, Any]] = []
        self.active = 0  # requests at the server right now, answered or waiting their turn
        self.peak = 0  # the most at the server at once
        self._lock = threading.Lock()
        handler = self._handler()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def queue(self, *replies: Reply | Callable[[dict[str, Any]], Reply]) -> FakeOpenAI:
        self.replies.extend(replies)
        return self

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            self.active += 1
            self.peak = max(self.peak, self.active)
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return reply(request) if callable(reply) else reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                self._reply(request)

            def do_GET(self) -> None:  # retrieve calls (a batch, a file's content): the request is its path
                self._reply({"GET": self.path})

            def _reply(self, request: dict[str, Any]) -> None:
                reply = fake._next(request)
                try:
                    with fake._answering:
                        self._answer(reply)
                finally:
                    with fake._lock:
                        fake.active -= 1

            def _answer(self, reply: Reply) -> None:
                time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                self.send_header("content-length", str(len(reply.body)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                body = reply.body if reply.cut is None else reply.body[: reply.cut]
                if not reply.trickle:
                    self.wfile.write(body)
                for byte in body if reply.trickle else b"":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(reply.trickle)
                if reply.cut is not None:
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        return Handler

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class CountingProxy:
    """Forwards POSTs to a real OpenAI-compatible server and counts them on the way."""

    def __init__(self, target_base_url: str) -> None:
        import httpx

        self.target = target_base_url.rstrip("/")
        self.count = 0
        self._http = httpx.Client(timeout=900)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy.count += 1
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                path = self.path.removeprefix("/v1")
                upstream = proxy._http.post(
                    proxy.target + path, content=body, headers={"content-type": "application/json"}
                )
                self.send_response(upstream.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()
