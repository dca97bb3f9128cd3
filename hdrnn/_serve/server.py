"""The HTTP side of ``hdrnn serve``: one page and a few JSON endpoints.

The standard library's threaded HTTP server is enough for a page that one
person draws on: it adds no dependency, and each request is small and
bounded. What it serves is a fixed table of routes (the page's three files
from package data and the JSON API), never a path on disk.

Defences, since anything on the machine (or the network, with ``--host``)
can send requests: bodies over :data:`MAX_BODY_BYTES` are refused before
they are read; requests must say they are JSON (so a web page elsewhere
cannot post to us without a CORS preflight, which we never grant); an
answer sent before the body was read closes the connection (so a refused
body is never parsed as a request of its own); a POST whose ``Origin`` or
``Sec-Fetch-Site`` names another site is refused; the
``Host`` header must name this server when it listens on loopback (which
defeats DNS rebinding); idle connections time out; and every error is a
JSON answer with a 4xx or 5xx status, never a dead server.
"""

import base64
import binascii
import json
import socket
import sys
import tempfile
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np

from hdrnn.persistence import save

# The largest request body read: a 512x512 drawing in base64 is 350 KiB.
MAX_BODY_BYTES = 512 * 1024

# Drawings are at least 8x8 and at most 1024x1024 pixels (and within the body limit).
MIN_SIDE, MAX_SIDE = 8, 1024

# Seconds a connection may sit idle (or trickle a request) before it is closed.
IDLE_TIMEOUT = 30

# Connections served at once; more get a 503 answer instead of a thread.
MAX_CONNECTIONS = 32

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

SECURITY_HEADERS = {
    # Only our own script, style and API; no frames, forms, plugins or base tags.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}


GET_ROUTES = ("/api/model", "/api/units", "/api/model-file")
POST_ROUTES = ("/api/predict", "/api/teach")


class RequestError(Exception):
    """A request we refuse: its HTTP status and a message for the page."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = HTTPStatus(status)


def page_files():
    """The page's files, read once from package data: ``{route: (bytes, content type)}``."""
    web = resources.files("hdrnn._serve") / "web"
    return {
        route: (web.joinpath(name).read_bytes(), content_type)
        for route, (name, content_type) in PAGE_FILES.items()
    }


def parse_drawing(body):
    """The grey pixels of a drawing request: ``(pixels, request)``.

    ``body`` is JSON ``{"width": W, "height": H, "pixels": base64}`` where the
    pixels are ``W * H`` bytes of grey (0 black to 255 white), row by row.
    Raises :class:`RequestError` (400) saying what is wrong.
    """
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(400, f"The request body is not JSON: {error}.") from None
    if not isinstance(request, dict):
        raise RequestError(400, "The request must be a JSON object with width, height, pixels.")
    width, height = (_side(request, key) for key in ("width", "height"))
    encoded = request.get("pixels")
    if not isinstance(encoded, str):
        raise RequestError(400, "'pixels' must be a base64 string of width*height grey bytes.")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "'pixels' is not valid base64.") from None
    if len(raw) != width * height:
        raise RequestError(
            400,
            f"'pixels' holds {len(raw)} bytes; a {width}x{height} drawing needs "
            f"{width * height} (one grey byte per pixel).",
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width), request


def _side(request, key):
    value = request.get(key)
    if type(value) is not int or not MIN_SIDE <= value <= MAX_SIDE:
        raise RequestError(
            400, f"'{key}' must be an integer from {MIN_SIDE} to {MAX_SIDE}; got {value!r}."
        )
    return value


class DemoServer(ThreadingHTTPServer):
    """A threaded HTTP server that answers with one :class:`~hdrnn._serve.recognizer.Recognizer`.

    Parameters
    ----------
    address : tuple of (str, int)
        Host and port; port 0 picks a free one (see ``server_address``).
    recognizer : Recognizer
        Reads and learns the drawings.
    model_name : str, default="model"
        The stem of the file name offered for downloading the taught model.
    """

    daemon_threads = True  # Ctrl-C does not wait for open connections
    allow_reuse_address = True

    def __init__(self, address, recognizer, model_name="model"):
        self.recognizer = recognizer
        self.model_name = model_name
        self.page = page_files()
        self.allowed_hosts = _allowed_hosts(address[0])
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, DemoHandler)
        if self.allowed_hosts is not None:
            port = self.server_address[1]
            self.allowed_hosts |= {f"{host}:{port}" for host in self.allowed_hosts}

    @property
    def url(self):
        """The address to open in a browser."""
        host, port = self.server_address[:2]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        # A client that vanished mid-answer is normal; anything else is a bug to report.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            traceback.print_exc(file=sys.stderr)


def _allowed_hosts(host):
    """The Host headers accepted: the loopback names, or None (any) off loopback."""
    if host not in LOOPBACK_HOSTS:
        return None
    return {"127.0.0.1", "localhost", "[::1]"}


def _refuse_busy(connection):
    body = json.dumps({"error": "The server is busy; try again."}).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        connection.sendall(head + body)
    except OSError:
        pass


class DemoHandler(BaseHTTPRequestHandler):
    """Routes one connection's requests to the page files and the JSON API."""

    server_version = "hdrnn"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive: live predictions reuse one connection
    timeout = IDLE_TIMEOUT
    # Small answers go out at once: with Nagle's algorithm, the body waited for the
    # client's delayed ACK of the headers, 40 ms a request on Linux.
    disable_nagle_algorithm = True

    def do_GET(self):
        self._answer(self._get)

    def do_HEAD(self):
        self._answer(self._get, head_only=True)

    def do_POST(self):
        self._answer(self._post)

    def _not_allowed(self):
        self._answer(self._method_not_allowed)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    # ------------------------------------------------------------ routing

    def _get(self):
        route = self.path.split("?", 1)[0]
        if route in self.server.page:
            content, content_type = self.server.page[route]
            return HTTPStatus.OK, content, content_type
        if route == "/api/model":
            return self._json(self._model_facts())
        if route == "/api/units":
            return self._json(first_layer_images(self.server.recognizer.model))
        if route == "/api/model-file":
            return self._model_file()
        if route in POST_ROUTES:
            raise RequestError(405, f"{route} takes POST requests.")
        raise RequestError(404, f"Nothing here: {route}.")

    def _post(self):
        route = self.path.split("?", 1)[0]
        if route not in POST_ROUTES:
            if route in self.server.page or route in GET_ROUTES:
                raise RequestError(405, f"{route} takes GET requests.")
            raise RequestError(404, f"Nothing here: {route}.")
        pixels, request = parse_drawing(self._read_body())
        recognizer = self.server.recognizer
        try:
            if route == "/api/predict":
                return self._json(recognizer.read(pixels))
            if "label" not in request:
                raise RequestError(400, "A teaching request needs the right 'label'.")
            return self._json(recognizer.teach(pixels, request["label"]))
        except ValueError as error:  # no digit in the drawing, or a label it does not know
            raise RequestError(422, str(error)) from None

    def _method_not_allowed(self):
        raise RequestError(405, f"{self.command} is not supported here.")

    # ------------------------------------------------------------ answers

    def _model_facts(self):
        recognizer = self.server.recognizer
        return {**recognizer.facts.as_dict(), "revision": recognizer.revision}

    def _model_file(self):
        recognizer = self.server.recognizer
        with tempfile.TemporaryDirectory() as folder:
            path = save(recognizer.model, Path(folder) / "model.hdrnn", info=recognizer.info)
            content = path.read_bytes()
        name = f"{self.server.model_name}-taught.hdrnn"
        extra = {"Content-Disposition": f'attachment; filename="{name}"'}
        return HTTPStatus.OK, content, "application/octet-stream", extra

    def _json(self, document):
        return HTTPStatus.OK, json.dumps(document).encode(), "application/json"

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise RequestError(411, "Send the body with a Content-Length, not chunked.")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise RequestError(411, "A Content-Length header is required.")
        if int(length) > MAX_BODY_BYTES:
            raise RequestError(
                413, f"The request is {int(length)} bytes; the limit is {MAX_BODY_BYTES}."
            )
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestError(415, "Send the drawing as application/json.")
        body = self.rfile.read(int(length))
        self._body_read = True
        if len(body) < int(length):
            raise RequestError(400, "The request body ended early.")
        return body

    def _answer(self, route, head_only=False):
        """Run ``route`` and send what it returns, or the error it raises, as JSON."""
        start = time.perf_counter()
        self._body_read = False
        try:
            self._check_host()
            self._check_origin()
            status, content, content_type, *extra = route()
            # Server-Timing: the browser's developer tools show how long we took.
            headers = {"Server-Timing": f"app;dur={1000 * (time.perf_counter() - start):.1f}"}
            headers.update(extra[0] if extra else {})
        except RequestError as error:
            status, content = error.status, json.dumps({"error": str(error)}).encode()
            content_type, headers = "application/json", {}
        except Exception:  # a bug: say so, keep serving
            traceback.print_exc(file=sys.stderr)
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            content = json.dumps({"error": "Internal error; the server log says more."}).encode()
            content_type, headers = "application/json", {}
        if self._has_unread_body():
            # Request smuggling: an unread body would be parsed as the next request on
            # this connection, so a cross-site text/plain POST could carry a JSON one.
            self.close_connection = True
        self._send(status, content, content_type, headers, head_only)

    def _has_unread_body(self):
        if self._body_read:
            return False
        length = self.headers.get("Content-Length", "0").strip()
        return length != "0" or "Transfer-Encoding" in self.headers

    def _check_host(self):
        allowed = self.server.allowed_hosts
        if allowed is not None and self.headers.get("Host", "").lower() not in allowed:
            raise RequestError(421, "This server answers only to its loopback address.")

    def _check_origin(self):
        """Refuse state-changing requests that a browser says come from another site."""
        if self.command not in ("POST", "PUT", "DELETE", "PATCH"):
            return
        if self.headers.get("Sec-Fetch-Site", "same-origin").lower() not in (
            "same-origin",
            "none",
        ):
            raise RequestError(403, "Requests from other web sites are refused.")
        origin = self.headers.get("Origin")
        if (
            origin is not None
            and origin.lower() != f"http://{self.headers.get('Host', '')}".lower()
        ):
            raise RequestError(403, "Requests from other web sites are refused.")

    def _send(self, status, content, content_type, headers, head_only):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-store")
        for name, value in {**SECURITY_HEADERS, **headers}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head_only:
            self.wfile.write(content)

    def send_error(self, code, message=None, explain=None):
        """Errors found by the standard library (a malformed request line...), as JSON."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # unparsable: answer with a status line anyway
            self.request_version = self.protocol_version
        content = json.dumps({"error": message or HTTPStatus(code).phrase}).encode()
        self._send(HTTPStatus(code), content, "application/json", {}, self.command == "HEAD")

    def log_message(self, format, *args):
        pass  # live drawing makes many requests a second; errors go to stderr on their own


def first_layer_images(model):
    """The first hidden layer's weights as grey images, one byte per weight.

    128 is a zero weight; each unit is scaled by its own largest magnitude,
    so every unit's pattern is visible. Returns ``{"units", "weights"}``
    with ``weights`` the base64 of ``units * n_features`` bytes, unit after
    unit (each unit's image row by row).
    """
    W = model.coefs_[0].T  # (units, inputs)
    scale = np.abs(W).max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    grey = np.clip(np.rint(128 + 127 * W / scale), 1, 255).astype(np.uint8)
    return {
        "units": int(W.shape[0]),
        "weights": base64.b64encode(grey.tobytes()).decode("ascii"),
    }
