"""A real HTTP server process that stands in for llama.cpp's, to test the embedded server's life.

`python -m stand_in_server --port N --on-completion crash|hang` answers `GET /v1/models` like
llama_cpp.server, and on a chat completion either dies by SIGSEGV (a build that faults on its
first completion) or never answers (a long completion in progress). `StandInServer` is the
library's `EmbeddedServer` launching this module instead of the model, through the same
`imr_llm.embedded_child` lifeline.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from imr_llm.embedded import EmbeddedServer


class StandInServer(EmbeddedServer):
    def __init__(self, on_completion: str) -> None:
        super().__init__(startup_timeout=30)
        self.on_completion = on_completion

    def _command(self, port: int) -> list[str]:
        return ["stand_in_server", "--port", str(port), "--on-completion", self.on_completion]


def serve(port: int, on_completion: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "stand-in", "object": "model"}]}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            if on_completion == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            time.sleep(3600)

        def log_message(self, *_: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--on-completion", choices=["crash", "hang"], required=True)
    args = parser.parse_args()
    serve(args.port, args.on_completion)
