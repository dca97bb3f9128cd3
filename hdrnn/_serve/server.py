"""The HTTP side of ``hdrnn serve``: one page and a few JSON endpoints.

The standard library's threaded HTTP server is enough for a page that a
few people draw on: it adds no dependency, and each request is small and
bounded. What it serves is a fixed table of routes (the page's three files
from package data and the JSON API), never a path on disk.

Defences, since anything on the machine (or the network, with ``--host``)
can send requests, including web pages in the user's own browser: bodies
over :data:`MAX_BODY_BYTES` are refused before they are read, and so is a
``Content-Length`` that is not plain ASCII digits or is given twice;
requests must say they are JSON (so a web page elsewhere cannot post to us
without a CORS preflight, which we never grant); an answer sent before the
body was read closes the connection (so a refused body is never parsed as
a request of its own); a POST whose ``Origin`` or ``Sec-Fetch-Site`` names
another site is refused; the ``Host`` header must name this server
(:mod:`~hdrnn._serve.addresses`: which defeats DNS rebinding); each request
has a deadline for its headers and body, one client address cannot take
all the connections, and waiting keep-alive connections give up their slot
to clients who need one (:mod:`~hdrnn._serve.connections`); and every
error is a JSON answer with a 4xx status (5xx only when the server is busy
or has a bug, which it logs and survives).
"""

import base64
import binascii
import contextlib
import io
import json
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
import unicodedata
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np

from hdrnn._serve import connections
from hdrnn._serve.addresses import ServedAddresses, check_origin
from hdrnn._serve.errors import RequestError
from hdrnn._serve.numbers import box_of, min_confidence_of
from hdrnn._serve.sessions import cookie_name, session_from_cookies, set_cookie
from hdrnn.persistence import save

# The largest request body read: a 512x512 drawing in base64 is 350 KiB.
MAX_BODY_BYTES = 512 * 1024

# Drawings are at least 8x8 and at most 1024x1024 pixels (and within the body limit).
MIN_SIDE, MAX_SIDE = 8, 1024
# The most pixels whose base64 fits the body limit with room for the rest of the JSON:
# the page shrinks an uploaded photo to this.
MAX_PIXELS = 3 * (MAX_BODY_BYTES - 1024) // 4

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

# At most this many drawings are read at once (the rest wait, up to READ_WAIT
# seconds, then get 503): two cores gain nothing from more, and each reading of a
# crowded page holds up to about 40 MB (64 at once took the server to 2.8 GB).
MAX_READINGS = 2
READ_WAIT = 30.0

GET_ROUTES = ("/api/model", "/api/units", "/api/model-file")
DRAWING_ROUTES = ("/api/predict", "/api/read", "/api/teach")
COPY_ROUTES = ("/api/undo", "/api/reset")
POST_ROUTES = DRAWING_ROUTES + COPY_ROUTES

__all__ = ["DemoServer", "MAX_BODY_BYTES", "MAX_PIXELS", "RequestError", "parse_drawing"]


def page_files():
    """The page's files, read once from package data: ``{route: (bytes, content type)}``."""
    web = resources.files("hdrnn._serve") / "web"
    return {
        route: (web.joinpath(name).read_bytes(), content_type)
        for route, (name, content_type) in PAGE_FILES.items()
    }


def parse_json(body):
    """The JSON object of a request body, or :class:`RequestError` (400) saying what is wrong."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError as error:
        raise RequestError(400, f"The request body is not JSON: {error}.") from None
    except UnicodeDecodeError:
        raise RequestError(400, "The request body is not JSON: it is not UTF-8 text.") from None
    except ValueError:  # Python refuses to read integers of more than 4300 digits
        raise RequestError(
            400, "The request body holds a number too long to read (over 4300 digits)."
        ) from None
    except RecursionError:
        raise RequestError(
            400, "The request body is JSON nested too deeply to read; send a flat object."
        ) from None
    if not isinstance(document, dict):
        raise RequestError(400, "The request must be a JSON object with width, height, pixels.")
    return document


def parse_drawing(request):
    """The grey pixels of a drawing request (a JSON object): an ``(H, W)`` uint8 array.

    ``request`` is ``{"width": W, "height": H, "pixels": base64}`` where the
    pixels are ``W * H`` bytes of grey (0 black to 255 white), row by row.
    Raises :class:`RequestError` (400) saying what is wrong.
    """
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
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width)


def _side(request, key):
    value = request.get(key)
    if type(value) is not int or not MIN_SIDE <= value <= MAX_SIDE:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise RequestError(
            400, f"'{key}' must be an integer from {MIN_SIDE} to {MAX_SIDE}; got {shown}."
        )
    return value


def download_header(model_name):
    """The ``Content-Disposition`` of a taught model's download, for a model named in any script.

    ``filename*`` (RFC 5987) carries the name in UTF-8; ``filename`` an ASCII
    stand-in for clients that read only that. Nothing in the name can end
    the header or start another.

    Examples
    --------
    >>> print(download_header("数字"))
    attachment; filename="model-taught.hdrnn"; filename*=UTF-8''%E6%95%B0%E5%AD%97-taught.hdrnn
    >>> print(download_header("café"))
    attachment; filename="cafe-taught.hdrnn"; filename*=UTF-8''caf%C3%A9-taught.hdrnn
    """
    ascii_name = unicodedata.normalize("NFKD", model_name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._-")
    if not re.search(r"[A-Za-z0-9]", ascii_name):
        ascii_name = "model"
    encoded = urllib.parse.quote(f"{model_name}-taught.hdrnn", safe="")
    return f"attachment; filename=\"{ascii_name}-taught.hdrnn\"; filename*=UTF-8''{encoded}"


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
    request_queue_size = 128  # connections the kernel holds until they are accepted

    def __init__(self, address, recognizer, model_name="model"):
        self.recognizer = recognizer
        self.model_name = model_name
        self.page = page_files()
        self.connections = connections.ConnectionTable(
            connections.MAX_CONNECTIONS, connections.MAX_PER_CLIENT
        )
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, DemoHandler)
        self.served = ServedAddresses(address[0], self.server_address[0])
        self.cookie = cookie_name(self.server_address[1])
        self.readings = threading.BoundedSemaphore(MAX_READINGS)

    @contextlib.contextmanager
    def reading_slot(self):
        """Hold one of the MAX_READINGS slots while reading a drawing, or refuse (503)."""
        if not self.readings.acquire(timeout=READ_WAIT):
            raise RequestError(
                503, "The server is busy reading other drawings; try again in a moment.", 2
            )
        try:
            yield
        finally:
            self.readings.release()

    @property
    def url(self):
        """The address to open in a browser."""
        host, port = self.server_address[:2]
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def process_request(self, request, client_address):
        if not self.connections.admit(request, client_address[0]):
            message = "The server is busy (every connection is in use); try again in a moment."
            connections.refuse_gently(request, connections.plain_answer(503, message, 2))
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.connections.release(request)
            connections.close_gently(request)

    def handle_error(self, request, client_address):
        # A client that vanished mid-answer is normal; anything else is a bug to report.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            traceback.print_exc(file=sys.stderr)


class DemoHandler(BaseHTTPRequestHandler):
    """Routes one connection's requests to the page files and the JSON API."""

    server_version = "hdrnn"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive: live predictions reuse one connection
    # Small answers go out at once: with Nagle's algorithm, the body waited for the
    # client's delayed ACK of the headers, 40 ms a request on Linux.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.rfile.close()  # replaced: reads under the request's deadline
        self.reader = connections.DeadlineReader(self.connection, self._started)
        self.rfile = io.BufferedReader(self.reader)

    def handle(self):
        """Answer requests until the connection closes, a request at a time."""
        self.close_connection = True
        while True:
            self.reader.next_request()
            self.server.connections.waiting(self.connection)
            self._answered = False
            self.handle_one_request()
            if self.reader.expired and not self._answered:
                self._too_slow()
                return
            if self.close_connection:
                return

    def parse_request(self):
        self.reader.started()  # a request read from the buffer may not have waited on the socket
        if not super().parse_request():
            return False
        problem = _header_problem(self.request_version, self.headers)
        if problem:
            self.send_error(400, problem)
            return False
        return True

    def _started(self):
        self.server.connections.busy(self.connection)

    def _too_slow(self):
        message = (
            f"The request did not arrive within {connections.REQUEST_SECONDS} s "
            "(its headers and body); the connection is closed."
        )
        try:
            self.connection.settimeout(connections.SEND_TIMEOUT)
            self.connection.sendall(connections.plain_answer(408, message))
        except OSError:
            pass

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
        recognizer, session = self.server.recognizer, self._session()
        if route == "/api/model":
            limits = {"min_side": MIN_SIDE, "max_side": MAX_SIDE, "max_pixels": MAX_PIXELS}
            facts = {**recognizer.facts.as_dict(), "limits": limits}
            return self._json({**facts, **recognizer.status(session)})
        if route == "/api/units":
            current = recognizer.copy(session)
            return self._json({**first_layer_images(current.model), "revision": current.revision})
        if route == "/api/model-file":
            return self._model_file(recognizer.copy(session))
        if route in POST_ROUTES:
            raise RequestError(405, f"{route} takes POST requests.")
        raise RequestError(404, f"Nothing here: {route}.")

    def _post(self):
        route = self.path.split("?", 1)[0]
        if route not in POST_ROUTES:
            if route in self.server.page or route in GET_ROUTES:
                raise RequestError(405, f"{route} takes GET requests.")
            raise RequestError(404, f"Nothing here: {route}.")
        request = parse_json(self._read_body())
        recognizer, session = self.server.recognizer, self._session()
        if route == "/api/undo":
            return self._json(*recognizer.undo(session))
        if route == "/api/reset":
            return self._json(*recognizer.reset(session))
        pixels = parse_drawing(request)
        try:
            if route == "/api/predict":
                with self.server.reading_slot():
                    return self._json(recognizer.read(pixels, session))
            if route == "/api/read":
                limit = min_confidence_of(request)
                with self.server.reading_slot():
                    return self._json(recognizer.read_number(pixels, session, limit))
            if "label" not in request:
                raise RequestError(400, "A teaching request needs the right 'label'.")
            box = box_of(request, pixels.shape[1], pixels.shape[0])
            return self._json(*recognizer.teach(pixels, request["label"], session, box))
        except ValueError as error:  # no digit in the drawing, or a label it does not know
            raise RequestError(422, str(error)) from None

    def _method_not_allowed(self):
        raise RequestError(405, f"{self.command} is not supported here.")

    # ------------------------------------------------------------ answers

    def _session(self):
        """The browser's session id (from its cookie), or None."""
        return session_from_cookies(self.headers.get("Cookie"), self.server.cookie)

    def _model_file(self, current):
        recognizer = self.server.recognizer
        try:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "model.hdrnn"
                save(current.model, path, info=recognizer.saved_info(current))
                content = path.read_bytes()
        except OSError as error:
            raise RequestError(
                507, f"Could not write the model file to send ({error}); free some disk space."
            ) from None
        extra = {"Content-Disposition": download_header(self.server.model_name)}
        return HTTPStatus.OK, content, "application/octet-stream", extra

    def _json(self, document, session=False):
        """A JSON answer; ``session`` (if given) is the browser's session id after the request."""
        extra = {}
        if session is not False and not self.server.recognizer.copies.shared:
            if session != self._session():
                extra["Set-Cookie"] = set_cookie(self.server.cookie, session)
        return HTTPStatus.OK, json.dumps(document).encode(), "application/json", extra

    def _read_body(self):
        if "Transfer-Encoding" in self.headers:
            raise RequestError(411, "Send the body with a Content-Length, not chunked.")
        lengths = {value.strip() for value in self.headers.get_all("Content-Length", [])}
        if not lengths:
            raise RequestError(411, "A Content-Length header is required.")
        length = lengths.pop()
        if lengths or not (length.isascii() and length.isdigit()):
            shown = repr(self.headers.get_all("Content-Length"))[:80]
            raise RequestError(
                400, f"Content-Length must be one number of bytes in ASCII digits; got {shown}."
            )
        if len(length) > 9 or int(length) > MAX_BODY_BYTES:
            raise RequestError(
                413, f"The request is {length[:20]} bytes; the limit is {MAX_BODY_BYTES}."
            )
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestError(415, "Send the request as application/json.")
        return self._read_exactly(int(length))

    def _read_exactly(self, length):
        self._body_read = True  # read or not, the connection closes if it falls short
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self.close_connection = True
            raise RequestError(
                408,
                f"The request body did not arrive in time: its Content-Length announced "
                f"{length} bytes, and a request has {connections.REQUEST_SECONDS} s to arrive.",
            ) from None
        if len(body) < length:
            self.close_connection = True
            raise RequestError(
                400,
                f"The request body ended early: {len(body)} of the {length} bytes that its "
                "Content-Length announced.",
            )
        return body

    def _answer(self, route, head_only=False):
        """Run ``route`` and send what it returns, or the error it raises, as JSON."""
        start = time.perf_counter()
        self._body_read = False
        try:
            self.server.served.check_host(
                self.headers.get("Host", ""), self.connection.getsockname()[0], self.server.url
            )
            if self.command not in ("GET", "HEAD"):
                check_origin(self.headers)
            status, content, content_type, *extra = route()
            # Server-Timing: the browser's developer tools show how long we took.
            headers = {"Server-Timing": f"app;dur={1000 * (time.perf_counter() - start):.1f}"}
            headers.update(extra[0] if extra else {})
        except RequestError as error:
            status, content = error.status, json.dumps({"error": str(error)}).encode()
            content_type = "application/json"
            headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
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

    def _send(self, status, content, content_type, headers, head_only):
        self._answered = True
        self.connection.settimeout(connections.SEND_TIMEOUT)  # a client that stops reading
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


# Headers a request may carry once: two Hosts or two Origins, of which only the first
# was checked, or two framings of the body, are a request meant to confuse.
SINGLE_HEADERS = ("Host", "Origin", "Sec-Fetch-Site", "Content-Length", "Transfer-Encoding")


def _header_problem(version, headers):
    """Why a parsed request is refused (400) before it is answered, or None.

    HTTP/0.9 has no headers (no Host to check, and answers without a status
    line); a header line with a space before its colon ("Transfer-Encoding :")
    is read by no two servers the same way (RFC 9112 5.1 asks for a 400); the
    headers of SINGLE_HEADERS must each come once (RFC 9112 3.2 for Host).
    """
    if version == "HTTP/0.9":
        return "HTTP/0.9 requests are not served: send HTTP/1.1 with a Host header."
    if headers.defects or headers.get_payload():
        # The standard library stops at a line it cannot read as a header (such as
        # "Transfer-Encoding : chunked") and keeps the rest as a "payload": the
        # body would be framed without it, and the bytes after run as a request.
        line = (headers.get_payload() or "").split("\r\n", 1)[0][:60]
        return f"A header line is malformed: {line!r} (no space may come before its colon)."
    for name in SINGLE_HEADERS:
        count = len(headers.get_all(name, []))
        if count > 1:
            return f"The request has {count} {name} headers; send it once."
    return None


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
