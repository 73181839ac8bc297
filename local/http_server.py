"""Serves the local API gateway over HTTP on loopback (stdlib server, one thread per connection)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from local.api_gateway import MAX_REQUEST_BYTES, ApiGateway, HttpRequest, HttpResponse
from local.startup import LOOPBACK, StartupError


class _GatewayHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when a burst of clients connect at once.
    request_queue_size = 128

    def __init__(self, port: int, gateway: ApiGateway, access_log: bool) -> None:
        self.gateway = gateway
        self.access_log = access_log
        super().__init__((LOOPBACK, port), _GatewayRequestHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that leaves before its answer is written (an MCP client ending its session while a notification
        # is in flight) is no fault of the server's: say nothing, as API Gateway would.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like API Gateway
    timeout = 60  # an idle keep-alive connection frees its thread after this
    # Headers and body are written separately: without this, each keep-alive response waits ~40 ms on Nagle.
    disable_nagle_algorithm = True
    server: _GatewayHttpServer

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is over API Gateway's limit (then left unread)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                total += size
                if total > MAX_REQUEST_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return None if length > MAX_REQUEST_BYTES else self.rfile.read(length)

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True
            response = self.server.gateway.too_large()
        else:
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            response = self.server.gateway.handle(request)
        self._send(response)

    def _send(self, response: HttpResponse) -> None:
        if response.chunks is not None:
            self._send_chunked(response, response.chunks)
            return
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _send_chunked(self, response: HttpResponse, chunks: Iterator[bytes]) -> None:
        """Status and headers, then each chunk as it comes (chunked transfer coding, RFC 9112 7.1), each written
        to the socket at once. A client gone mid-stream closes `chunks` (the function's iterator with it)."""
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except Exception:
            # The client left (or the function failed after the status line): nothing more can be said on it.
            self.close_connection = True
            raise
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        if self.server.access_log:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class GatewayServer:
    def __init__(self, gateway: ApiGateway, port: int = 0, access_log: bool = False) -> None:
        try:
            self._server = _GatewayHttpServer(port, gateway, access_log)
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {LOOPBACK}:{port} ({exc.strerror}): try PORT={port + 1} make local"
            ) from exc
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-api-gateway", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
