"""Holding Ctrl-C back while training state is written, so it is never half-updated."""

import contextlib
import signal
import threading


@contextlib.contextmanager
def deferred_interrupts():
    """Hold a Ctrl-C that arrives inside the block until the block is done.

    The records of an epoch (its curves, its history, its best weights) are
    written inside such a block: all of them or none. Only the main thread
    receives signals, and a handler the user installed is left alone: in
    those cases the block runs as it is.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received = []
    signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if received:
            raise KeyboardInterrupt
