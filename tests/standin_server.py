"""The local HTTP server under the suite's stand-ins of national systems that cannot be reached
from here (the BHXH claims gateway, the national e-prescription system): a stand-in answers each
request; this serves it on a free port of 127.0.0.1 and writes the answer as JSON (a str answer
is sent as it is)."""

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = Callable[[str, str, dict[str, str], str], tuple[int, object]]
"""(method, path, headers with lower-case names, body text) -> (status, answer)."""


def serve(answer: Answer) -> tuple[ThreadingHTTPServer, str]:
    """Start a server that replies with `answer`; the server and its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, content = answer(method, self.path, headers, body)
            data = (content if isinstance(content, str) else json.dumps(content)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # a client that stopped waiting
                pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._reply("GET")

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self._reply("POST")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
