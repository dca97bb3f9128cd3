"""Who gets the server's connections, and for how long.

The server gives each connection a thread (the standard library's model),
so connections are what a client can hoard. Three rules keep any one client
from starving the others:

- **A deadline per request, not per read** (:class:`DeadlineReader`): from a
  request's first byte, its headers and body must all arrive within
  :data:`REQUEST_SECONDS`. A timeout per read let a client keep a
  connection forever by sending one byte every few seconds (slowloris).
- **Limits per client address and in total** (:class:`ConnectionTable`); a
  connection *waiting* for its next request (keep-alive) holds no claim on
  its slot: when a slot is needed, the longest-waiting such connection is
  closed, which HTTP allows at any time and browsers answer by reconnecting.
  So 50 browsers that keep their connections open take turns instead of
  locking the other clients out.
- **Lingering close** (:func:`close_gently`): before closing, the server
  stops sending and reads what the client is still sending, for a short
  while. Closing a socket with unread data makes the kernel send a reset,
  and the client then loses the answer it was about to read (a 503, a 413).
"""

import io
import json
import socket
import threading
import time
from http import HTTPStatus

# A request's headers and body must arrive within this many seconds of its first byte.
REQUEST_SECONDS = 20

# Seconds a connection may wait for its next request (keep-alive) before it is closed.
IDLE_TIMEOUT = 30

# Seconds an answer may take to be sent (a client that stops reading is dropped).
SEND_TIMEOUT = 30

# Connections served at once, and by one client address (browsers open up to 6).
MAX_CONNECTIONS = 128
MAX_PER_CLIENT = 64

# Lingering close: read and drop at most this much, for at most this long, then close.
LINGER_SECONDS = 2
LINGER_BYTES = 1024 * 1024
# Refused connections closed gently at once; beyond that (a flood), closed at once.
MAX_LINGERING = 64


def plain_answer(status, message, retry_after=None):
    """A complete HTTP/1.1 answer that closes the connection: a JSON ``{"error": message}``.

    For answers sent outside a request handler (a refused connection, a
    request that did not arrive in time).
    """
    body = json.dumps({"error": message}).encode()
    status = HTTPStatus(status)
    retry = f"Retry-After: {retry_after}\r\n" if retry_after else ""
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{retry}Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class DeadlineReader(io.RawIOBase):
    """A socket's incoming bytes, read under the current request's deadline.

    Between requests a read may wait :data:`IDLE_TIMEOUT` seconds; the first
    byte of a request starts its deadline of :data:`REQUEST_SECONDS`, and
    every later read of that request waits only for what is left of it.

    Parameters
    ----------
    connection : socket.socket
        The client's socket.
    on_busy : callable
        Called (without arguments) when a request's first bytes arrive.
    """

    def __init__(self, connection, on_busy):
        super().__init__()
        self.connection = connection
        self.on_busy = on_busy
        self.deadline = None  # None: waiting for the next request to start
        self.expired = False

    def readable(self):
        return True

    def next_request(self):
        """Wait for a new request: the idle timeout applies until its first byte."""
        self.deadline, self.expired = None, False

    def started(self):
        """The request has started (its first bytes may have come in an earlier read)."""
        if self.deadline is None:
            self.deadline = time.monotonic() + REQUEST_SECONDS
            self.on_busy()

    def readinto(self, buffer):
        if self.deadline is None:
            timeout = IDLE_TIMEOUT
        else:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                self.expired = True
                raise TimeoutError(f"the request took longer than {REQUEST_SECONDS} s")
        self.connection.settimeout(timeout)
        try:
            count = self.connection.recv_into(buffer)
        except TimeoutError:
            self.expired = self.deadline is not None
            raise
        if count:
            self.started()
        return count


class ConnectionTable:
    """The open connections: at most ``total``, at most ``per_client`` from one address.

    A connection is *waiting* from when it opens (or finishes an answer) to
    the first byte of its next request; a waiting connection gives up its
    slot to a newcomer when the limits are reached.

    Parameters
    ----------
    total : int
        Connections served at once.
    per_client : int
        Connections served at once for one client address.

    Examples
    --------
    >>> import socket
    >>> table = ConnectionTable(total=2, per_client=1)
    >>> a, b = socket.socketpair()
    >>> table.admit(a, "10.0.0.1"), table.admit(b, "10.0.0.2")
    (True, True)
    >>> table.busy(a); table.busy(b)
    True
    True
    >>> table.admit(socket.socket(), "10.0.0.3")  # both busy: refused
    False
    >>> a.close(); b.close()
    """

    def __init__(self, total, per_client):
        self.total = total
        self.per_client = per_client
        self._lock = threading.Lock()
        self._open = {}  # socket -> [client address, waiting since (None when busy)]

    def admit(self, connection, client):
        """Take a slot for a new connection (closing a waiting one if needed); False if none."""
        with self._lock:
            victim = None
            if sum(entry[0] == client for entry in self._open.values()) >= self.per_client:
                victim = self._longest_waiting(client)
                if victim is None:
                    return False
            elif len(self._open) >= self.total:
                victim = self._longest_waiting(None)
                if victim is None:
                    return False
            if victim is not None:
                del self._open[victim]  # its slot is the newcomer's from now on
            self._open[connection] = [client, time.monotonic()]
        if victim is not None:
            _wake_to_close(victim)
        return True

    def _longest_waiting(self, client):
        waiting = [
            (since, connection)
            for connection, (owner, since) in self._open.items()
            if since is not None and client in (None, owner)
        ]
        return min(waiting, key=lambda pair: pair[0])[1] if waiting else None

    def busy(self, connection):
        """The connection's request has started; False if its slot was already given away."""
        with self._lock:
            entry = self._open.get(connection)
            if entry is not None:
                entry[1] = None
            return entry is not None

    def waiting(self, connection):
        """The connection has answered and waits for its next request."""
        with self._lock:
            entry = self._open.get(connection)
            if entry is not None:
                entry[1] = time.monotonic()

    def release(self, connection):
        """The connection is closed."""
        with self._lock:
            self._open.pop(connection, None)

    def __len__(self):
        with self._lock:
            return len(self._open)

    def busy_count(self):
        """Connections in the middle of a request."""
        with self._lock:
            return sum(since is None for _, since in self._open.values())


def _wake_to_close(connection):
    # Its thread is blocked reading the next request: the read now ends, and the thread
    # closes the connection as a client that went away.
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def close_gently(connection):
    """Stop sending, read what the client still sends (briefly), then close the socket.

    So that the client reads the last answer instead of a connection reset.
    """
    try:
        connection.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + LINGER_SECONDS
        received = 0
        while received < LINGER_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            connection.settimeout(remaining)
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += len(chunk)
    except OSError:  # the client reset or went away: nothing left to protect
        pass
    finally:
        connection.close()


_lingering = threading.BoundedSemaphore(MAX_LINGERING)


def refuse_gently(connection, answer):
    """Send ``answer`` on a connection without a thread of its own, then close it gently.

    A few threads at most do this; in a flood beyond them, connections are
    closed at once.
    """
    try:
        connection.settimeout(1)
        connection.sendall(answer)
    except OSError:
        connection.close()
        return
    if not _lingering.acquire(blocking=False):
        connection.close()
        return

    def linger():
        try:
            close_gently(connection)
        finally:
            _lingering.release()

    threading.Thread(target=linger, daemon=True).start()
