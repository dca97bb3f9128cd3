"""Each browser's own copy of the model: teaching that is safe to share.

A lesson changes a *copy* of the model, and by default each browser has
its own: what one visitor teaches, no other visitor sees, and a fresh
browser reads with the original model. A copy is a :class:`Copy` record
(the model, its revision, its number of lessons and the copy before the
last lesson, for undo), replaced as a whole when it changes, so a request
sees one copy or the next, never a mix of two.

Which browser is which: a random session id in a cookie that the server
sets when a browser's first lesson makes its copy (``HttpOnly``: page
scripts cannot read it; ``SameSite=Strict``: requests started by other
sites do not carry it). A cookie, not a header the page would add, because
the page's plain download link then gets this browser's copy too, a reload
keeps it, and no script ever holds the id. The id is chosen by the server
when the copy is made, never taken from the client, so a planted cookie
cannot make two browsers share a copy.

Memory is bounded: a copy shares everything with the original model but
its weights (``coefs_`` and ``intercepts_``), a browser holds at most two
copies (the current one and the one that undo returns to), at most
:data:`MAX_SESSIONS` browsers hold copies (fewer when the model is large:
:data:`SESSION_MEMORY` in all), and a copy unused for
:data:`IDLE_SECONDS` is dropped; so is the least recently used one when a
new browser needs room. A browser whose copy was dropped is told so.

With ``shared=True`` (``hdrnn serve --shared-teaching``) there is one copy
for everyone, as for a single user who wants the taught model saved.
"""

import copy as copy_module
import itertools
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

# Browsers whose copies are kept at once (each at most two sets of weights).
MAX_SESSIONS = 32
# Bytes of weights that all the browsers' copies may hold together.
SESSION_MEMORY = 256 * 1024 * 1024
# A copy not used (read or taught) for this many seconds is dropped.
IDLE_SECONDS = 30 * 60
# Dropped sessions remembered, so that their browsers can be told.
FORGOTTEN_SESSIONS = 1024

SHARED = "shared"  # the one session of shared teaching
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class Copy:
    """One browser's model: published as a whole, never changed.

    Attributes
    ----------
    model : DigitMLPClassifier
        Reads the drawings (the original model object when ``revision`` is 0).
    revision : int
        0 for the original; every new copy on the server gets a new number.
    lessons : int
        Drawings taught to reach this copy from the original.
    previous : Copy or None
        What undo returns to (one lesson back), if anything.
    """

    model: object
    revision: int
    lessons: int
    previous: "Copy" = None


def weight_bytes(model):
    """Bytes of a model's weights and biases: what a copy adds to the original."""
    return sum(array.nbytes for array in (*model.coefs_, *model.intercepts_))


class _Session:
    def __init__(self, current, now):
        self.copy = current
        self.last_used = now
        self.lock = threading.Lock()  # one lesson, undo or reset at a time


class Copies:
    """The copies of one model that browsers teach (or the one copy they share).

    Parameters
    ----------
    original : DigitMLPClassifier
        The model served; never changed.
    shared : bool, default=False
        One copy for every browser, instead of one each.
    max_sessions : int, default=MAX_SESSIONS
        Browsers whose copies are kept at once (further bounded by
        ``memory``).
    memory : int, default=SESSION_MEMORY
        Bytes of weights all the copies may hold together.
    idle_seconds : float, default=IDLE_SECONDS
        A browser's copy unused for longer is dropped.
    clock : callable, default=time.monotonic
        Seconds, for the idle rule.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from hdrnn import DigitMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> model = DigitMLPClassifier((8,), max_iter=5, random_state=0).fit(X / 16, y)
    >>> copies = Copies(model)
    >>> copies.get(None)[0].revision  # a fresh browser reads the original
    0
    >>> taught = copies.derive(model.coefs_, model.intercepts_, copies.original)
    >>> session = copies.publish(None, taught)  # its first lesson gives it an id
    >>> copies.get(session)[0].lessons, copies.get(None)[0].lessons
    (1, 0)
    """

    def __init__(
        self,
        original,
        *,
        shared=False,
        max_sessions=MAX_SESSIONS,
        memory=SESSION_MEMORY,
        idle_seconds=IDLE_SECONDS,
        clock=time.monotonic,
    ):
        self.original = Copy(original, revision=0, lessons=0)
        self.shared = shared
        self.bytes_per_session = 2 * weight_bytes(original)  # the copy and its undo
        self.max_sessions = max(1, min(max_sessions, memory // self.bytes_per_session))
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions = OrderedDict()  # id -> _Session, least recently used first
        self._forgotten = OrderedDict()  # id -> why its copy was dropped
        self._revisions = itertools.count(1)
        if shared:
            self._sessions[SHARED] = _Session(self.original, clock())

    def get(self, session):
        """``(copy, dropped)``: the copy a session reads, and why it lost its own (or None)."""
        with self._lock:
            now = self._clock()
            self._drop_idle(now)
            entry = self._sessions.get(SHARED if self.shared else session)
            if entry is None:
                return self.original, self._forgotten.get(session)
            entry.last_used = now
            self._sessions.move_to_end(SHARED if self.shared else session)
            return entry.copy, None

    def lock(self, session):
        """The lock that orders a session's lessons, undos and resets."""
        with self._lock:
            entry = self._sessions.get(SHARED if self.shared else session)
        # A browser without a copy gets a new session (and id) at its first lesson.
        return threading.Lock() if entry is None else entry.lock

    def derive(self, coefs, intercepts, current):
        """A new copy: the original model with these weights, one lesson after ``current``.

        The model is a shallow copy of the original with its own weight
        lists: the training parameters, the optimizer's state (Adam's
        moments...) and everything else stay the original's, so a saved
        copy trains on as the original would.
        """
        model = copy_module.copy(self.original.model)
        model.coefs_, model.intercepts_ = list(coefs), list(intercepts)
        previous = Copy(current.model, current.revision, current.lessons)  # one undo kept
        return Copy(model, next(self._revisions), current.lessons + 1, previous)

    def publish(self, session, new):
        """Make ``new`` the session's copy, in one step; returns the session's id.

        A session without a copy gets a new id here (None if ``new`` is the
        original: nothing to keep).
        """
        with self._lock:
            now = self._clock()
            key = SHARED if self.shared else session
            entry = self._sessions.get(key)
            if entry is None:
                if new.revision == 0:
                    return None
                key = secrets.token_urlsafe(24)  # 32 characters
                entry = self._sessions[key] = _Session(new, now)
                self._drop_least_recently_used()
            entry.copy, entry.last_used = new, now
            self._sessions.move_to_end(key)
            return key

    def drop(self, session):
        """Forget a session's copy (reset): it reads the original again."""
        with self._lock:
            if self.shared:
                self._sessions[SHARED].copy = self.original
            else:
                self._sessions.pop(session, None)

    def __len__(self):
        with self._lock:
            return len(self._sessions)

    def _drop_idle(self, now):
        while self._sessions and not self.shared:
            key, entry = next(iter(self._sessions.items()))
            if now - entry.last_used <= self.idle_seconds:
                break
            self._forget(key, f"after {_duration(self.idle_seconds)} without use")

    def _drop_least_recently_used(self):
        while len(self._sessions) > self.max_sessions:
            key = next(iter(self._sessions))
            self._forget(
                key, f"to make room: the server keeps at most {self.max_sessions} browsers' copies"
            )

    def _forget(self, key, why):
        del self._sessions[key]
        self._forgotten[key] = why
        while len(self._forgotten) > FORGOTTEN_SESSIONS:
            self._forgotten.popitem(last=False)


def _duration(seconds):
    """``"30 minutes"``, ``"1 minute"``, ``"45 seconds"``."""
    count, unit = (round(seconds / 60), "minute") if seconds >= 60 else (round(seconds), "second")
    return f"{count} {unit}{'' if count == 1 else 's'}"


def cookie_name(port):
    """The session cookie's name: cookies ignore ports, so two servers on one host differ."""
    return f"hdrnn-session-{port}"


def session_from_cookies(header, name):
    """The session id in a ``Cookie`` header, or None."""
    for part in (header or "").split(";"):
        key, equals, value = part.strip().partition("=")
        if equals and key == name and _SESSION_ID.fullmatch(value):
            return value
    return None


def set_cookie(name, session):
    """The ``Set-Cookie`` value that gives a browser its session (or ends it, for None)."""
    if session is None:
        return f"{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
    return f"{name}={session}; Path=/; HttpOnly; SameSite=Strict"
