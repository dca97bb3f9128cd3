"""Writing files safely: check the destination first, then replace it atomically.

One owner for the two rules every file hdrnn writes follows (model files,
the MNIST cache): only a missing path or a regular file (reached through
any symlinks) may be replaced, and the new content appears all at once or
not at all.
"""

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

# What a path that is not a regular file is, for error messages.
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def check_writable_target(path):
    """Return the file that writing ``path`` would replace, or raise before anything is written.

    Symlinks are followed, so saving onto a link replaces the file it points
    to and keeps the link.

    Parameters
    ----------
    path : str or path-like
        Where a file is to be written.

    Returns
    -------
    target : pathlib.Path
        The real path to write (symlinks resolved).

    Raises
    ------
    ValueError
        If the path exists and is not a regular file (a directory, FIFO,
        socket or device): it is never replaced.
    FileNotFoundError
        If its folder does not exist.
    PermissionError
        If its folder is not writable.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        shown = str(path) if target == path.absolute() else f"{path} (-> {target})"
        raise ValueError(
            f"Cannot write to {shown}: it is {kind}, not a regular file. Give the path of "
            "a file (an existing file is replaced; nothing else ever is)."
        )
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, f"Cannot write to {path}: the folder {folder} does not exist", str(path)
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(
            errno.EACCES, f"Cannot write to {path}: the folder {folder} is not writable", str(path)
        )
    return target


@contextlib.contextmanager
def atomic_write(path):
    """Write a file under a temporary name and move it over ``path`` only when complete.

    Yields a binary file open for writing; its ``name`` is the temporary
    path. On any exception (Ctrl-C, a full disk) the temporary file is
    removed and ``path`` is left as it was. The new file gets the mode of
    the file it replaces, or the usual mode for new files (umask applied).

    Parameters
    ----------
    path : str or path-like
        The destination; checked with :func:`check_writable_target`.

    Yields
    ------
    file : file object
    """
    target = check_writable_target(path)
    temporary = _create_temporary(target)
    try:
        with open(temporary, "wb") as file:  # its name is the temporary path
            yield file
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_folder(target.parent)


def _create_temporary(target):
    """Create a new empty file beside ``target`` (mode 0o666 minus the umask) and return it."""
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temporary
        except FileExistsError:
            continue


def _sync_folder(folder):
    """Make the rename itself durable where the platform allows it (POSIX)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
