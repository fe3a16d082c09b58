"""A local HTTP server playing a forge's REST API in the tests (GitHub's, GitLab's): the
stand-in gives one function that answers each request, and this serves it on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

Answer = Callable[[str, str, Any, Any], tuple[int, dict[str, str], Any]]
"""(method, target, headers, payload) -> (status, headers, JSON body or None)."""


def _payload(handler: BaseHTTPRequestHandler) -> Any:
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if not raw:
        return None
    if "json" in handler.headers.get("Content-Type", "json"):
        return json.loads(raw)
    return {key: values[0] for key, values in parse_qs(raw.decode()).items()}


@contextmanager
def serving(answer: Answer) -> Iterator[str]:
    """The base URL of a server answering with `answer`, until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            status, headers, body = answer(self.command, self.path, self.headers, _payload(self))
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
