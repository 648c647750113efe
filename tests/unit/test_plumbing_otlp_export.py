"""Spans are exported over OTLP/HTTP only when an endpoint is configured (a loopback receiver here)."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from shared.runtime import tracer_provider


def test_no_endpoint_no_exporter(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracer_provider("profiles") is None


def test_an_endpoint_receives_the_services_spans(monkeypatch):
    received: list[tuple[str, bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None: ...

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    provider = tracer_provider("profiles")
    try:
        with provider.get_tracer("test").start_as_current_span("profiles.submitted process"):
            pass
        assert provider.force_flush(5_000)
    finally:
        provider.shutdown()
        server.shutdown()
    assert [path for path, _ in received] == ["/v1/traces"]
    body = received[0][1]
    assert b"reciprocal-profiles" in body and b"profiles.submitted process" in body
