"""A page that answers while the real one starts: ``spectrocanvas ui`` binds its port at once with
this small standard-library server (Gradio takes seconds to import), which answers ``/`` with a
"starting" page that reloads itself as soon as the Gradio page answers on the same port, and every
other path with 503 (Retry-After). When Gradio is built, this server closes and Gradio takes the port."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from spectrocanvas.errors import SpectrocanvasError

STARTING_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>spectrocanvas: starting</title><meta name="viewport" content="width=device-width">
<style>body{font-family:system-ui,sans-serif;margin:4em auto;max-width:36em;color:#333}</style></head>
<body><h1>spectrocanvas</h1><p id="note">The page is starting; it appears here in a few seconds.</p>
<script>
async function poll() {
  try { const answer = await fetch("/config", {cache: "no-store"}); if (answer.ok) { location.reload(); return; } }
  catch (error) {}
  setTimeout(poll, 250);
}
setTimeout(poll, 250);
</script></body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 — the standard library's name
        if self.path.split("?")[0] in ("/", "/index.html"):
            body, status = STARTING_HTML.encode(), 200
        else:
            body, status = b"starting\n", 503
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if status == 503:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, format: str, *args) -> None:  # noqa: A002 — quiet: the real page logs
        pass


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def free_port(host: str, first: int = 7860, tries: int = 100) -> int:
    """The first port from ``first`` that ``host`` can bind (what Gradio would pick)."""
    for port in range(first, first + tries):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            try:
                probe.bind((host, port))
                return port
            except OSError:
                continue
    raise OSError(f"no free port in {first}…{first + tries - 1} on {host}")


class StartingPage:
    """The stand-in server on ``host:port`` until :meth:`close`."""

    def __init__(self, host: str, port: int) -> None:
        _Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as error:
            raise SpectrocanvasError(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                                     "choose another --port") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="spectrocanvas-starting", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop answering and free the port for the real page."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
