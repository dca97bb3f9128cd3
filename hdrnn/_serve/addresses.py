"""Which requests name this server: the ``Host`` and ``Origin`` checks.

A web page can make the user's browser send requests anywhere. Two rules
keep pages from other sites out:

- **Host** (DNS rebinding): a page on ``evil.example`` can re-point its own
  name at this machine, and the browser then sends its requests here with
  ``Host: evil.example``. The server answers only to a ``Host`` that names
  it: an IP address it serves (any loopback address, in any spelling, is
  loopback), ``localhost``, the ``--host`` name it was given, or, when it
  listens beyond loopback, this machine's own names. A page can never make
  the browser send an IP address as its ``Host`` for a name it controls, so
  addresses are safe to accept.
- **Origin**: a page elsewhere can send (not read) requests to the real
  address; a state-changing request whose ``Origin`` or ``Sec-Fetch-Site``
  names another site is refused.
"""

import ipaddress
import socket

from hdrnn._serve.errors import RequestError

# Requests whose Sec-Fetch-Site is one of these come from our own page (or the user).
OWN_FETCH_SITES = ("same-origin", "none")


class ServedAddresses:
    """The names and addresses under which a server may be asked for.

    Parameters
    ----------
    given : str
        The host the server was asked to listen on (``--host``): an address
        or a name.
    bound : str
        The address it listens on (``server_address[0]``).

    Examples
    --------
    >>> served = ServedAddresses("127.0.0.2", "127.0.0.2")
    >>> served.loopback, served.names("127.0.0.1:8000", "127.0.0.2")
    (True, True)
    >>> served.names("[0:0:0:0:0:0:0:1]:8000", "127.0.0.2"), served.names("evil.example", "")
    (True, False)
    """

    def __init__(self, given, bound):
        self.bound = ipaddress.ip_address(bound.split("%")[0])
        self.loopback = _loopback(self.bound)
        self.everywhere = self.bound.is_unspecified  # 0.0.0.0 or ::
        own = {"localhost"}
        if _address(given) is None:
            own.add(given.lower().rstrip("."))
        if not self.loopback:
            own |= _machine_names()
        self.own_names = frozenset(own)

    def names(self, host_header, local_address):
        """Whether a ``Host`` header names this server, reached at ``local_address``."""
        host = _host_part(host_header)
        if host is None:
            return False
        address = _address(host)
        if address is None:
            name = host.lower().rstrip(".")
            return name in self.own_names or name.endswith(".localhost")
        return (
            _loopback(address)
            or self.everywhere
            or address == self.bound
            or address == _address(local_address)
        )

    def check_host(self, host_header, local_address, url):
        """Raise :class:`RequestError` (421) unless the ``Host`` header names this server."""
        if self.names(host_header, local_address):
            return
        shown = repr(host_header[:60]) if host_header else "none"
        where = "its loopback address" if self.loopback else "this machine's addresses"
        raise RequestError(
            421,
            f"This server answers only to requests addressed to {where} or its own names "
            f"({', '.join(sorted(self.own_names))}); got Host {shown}. A page that renamed "
            f"itself to reach this server (DNS rebinding) is refused: open {url} instead.",
        )


def check_origin(headers):
    """Raise :class:`RequestError` (403) if a browser says the request comes from another site.

    ``headers`` are the request's headers; call only for requests that
    change something.
    """
    site = headers.get("Sec-Fetch-Site", "same-origin").lower()
    origin = headers.get("Origin")
    own = f"http://{headers.get('Host', '')}".lower()
    if site not in OWN_FETCH_SITES or (origin is not None and origin.lower() != own):
        raise RequestError(
            403,
            "Requests from other web sites are refused: this request came from "
            f"{origin or 'another site'}, not from the page at {own}/.",
        )


def _host_part(host_header):
    """The host of a ``Host`` header without its port, or None if it is malformed."""
    header = host_header.strip()
    if header.startswith("["):  # [IPv6]:port
        host, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not _port(rest)):
            return None
        return host
    host, colon, port = header.rpartition(":")
    if not colon:
        return header or None
    return host if _port(":" + port) and host else None


def _port(text):
    return text.startswith(":") and text[1:].isascii() and text[1:].isdigit()


def _address(text):
    """``text`` as an IP address (IPv6 zone dropped), or None if it is a name."""
    try:
        return ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None


def _loopback(address):
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _machine_names():
    """This machine's own names, as a browser on the network may be given them."""
    # gethostname asks no name server (getfqdn would, and could stall the start).
    name = socket.gethostname().lower().rstrip(".")
    return {name, f"{name.split('.')[0]}.local"} if name else set()
