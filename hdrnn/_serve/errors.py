"""What the server answers when it refuses a request: a status and a sentence for the page.

One class, raised wherever the refusal is found (parsing a request, a host
check, a lesson that cannot be taught) and turned into a JSON answer by the
server, so that every refusal reaches the page as words, never as a
traceback.
"""

from http import HTTPStatus


class RequestError(Exception):
    """A request we refuse: its HTTP status and a message for the page.

    Parameters
    ----------
    status : int
        The HTTP status of the answer (4xx, or 503 when the server is busy).
    message : str
        What was expected, what was received and how to fix it.
    retry_after : int or None, default=None
        Seconds after which trying again should work (a ``Retry-After``
        header), for answers that say the server is busy.

    Examples
    --------
    >>> error = RequestError(404, "Nothing here: /nowhere.")
    >>> error.status.phrase, str(error)
    ('Not Found', 'Nothing here: /nowhere.')
    """

    def __init__(self, status, message, retry_after=None):
        super().__init__(message)
        self.status = HTTPStatus(status)
        self.retry_after = retry_after
