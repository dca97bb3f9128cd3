"""Writing files safely: check the destination first, then replace it atomically.

One owner for the rules every file hdrnn writes follows (model files, ONNX
graphs, figures, the MNIST cache):

- only a missing path or a regular file may be replaced, never what a
  command is reading (the same file, reached through any link);
- symbolic links on the way are followed, except where the kernel's own
  rule for links planted by others would refuse them (see
  :func:`check_writable_target`), checked by hdrnn itself because it
  resolves the path before writing and the kernel would not see the link;
- the new content appears all at once or not at all: it is written under a
  temporary name in the destination's folder, held open, and renamed over
  the destination only when complete.
"""

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import NamedTuple

# What a path that is not a regular file is, for error messages.
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)

# Links followed before giving up, as Linux's ELOOP limit.
_MAX_LINKS = 40

# Writing relative to an open folder (POSIX): nothing can redirect the
# temporary file or the rename once the folder is open.
_HOLDS_FOLDER = hasattr(os, "O_DIRECTORY") and {os.open, os.rename, os.unlink} <= os.supports_dir_fd


class Link(NamedTuple):
    """A symbolic link met on the way to a destination, with what the rule looks at."""

    path: Path
    owner: int  # uid of the link itself
    folder_mode: int  # st_mode of the folder holding it
    folder_owner: int  # uid of that folder


def check_writable_target(path, *, inputs=()):
    """Return the file that writing ``path`` would replace, or raise before anything is written.

    Symbolic links are followed (saving onto a link replaces the file it
    points to and keeps the link), with two exceptions, which refuse the
    link and write nothing:

    1. a link in a sticky world-writable folder (such as ``/tmp``) that
       belongs neither to the user writing nor to the folder's owner: the
       kernel's ``fs.protected_symlinks`` rule, applied by hdrnn too because
       it resolves the path itself (and on systems without that rule);
    2. a link that belongs to another user (not the one writing, not root)
       and leads to a file, or for a new file a folder, that is not that
       user's: another user's link may only lead to their own files (Apache's
       ``SymLinksIfOwnerMatch``). Without this, a link planted in a folder
       root writes to could make root replace any system file.

    Both apply to every link on the way, not only the last. To write where
    such a link points, give the real path.

    Parameters
    ----------
    path : str or path-like
        Where a file is to be written.
    inputs : iterable of str or path-like, default=()
        Files the command reads (a model file, say): ``path`` must not be
        one of them, under any name (compared by device and inode, so also
        through symbolic and hard links).

    Returns
    -------
    target : pathlib.Path
        The real path to write (symlinks resolved).

    Raises
    ------
    ValueError
        If the path exists and is not a regular file (a directory, FIFO,
        socket or device): it is never replaced. Also if it is one of
        ``inputs``.
    PermissionError
        If a link on the way is refused (see above), or the folder is not
        writable.
    FileNotFoundError
        If its folder does not exist.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "model.hdrnn").write_bytes(b"a model")
    7
    >>> (folder / "link.hdrnn").symlink_to(folder / "model.hdrnn")
    >>> check_writable_target(folder / "link.hdrnn").name
    'model.hdrnn'
    >>> try:  # a command reading model.hdrnn may not write it, under any name
    ...     check_writable_target(folder / "link.hdrnn", inputs=[folder / "model.hdrnn"])
    ... except ValueError as error:
    ...     print("input file" in str(error))
    True
    """
    return _checked(Path(path), inputs)[0]


def _checked(path, inputs):
    """``(target, folder's stat)`` for writing ``path``, or raise."""
    target, links = resolve(path)
    mode = _lstat_or_none(target)
    mode = None if mode is None else mode.st_mode
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        shown = str(path) if target == path.absolute() else f"{path} (-> {target})"
        raise ValueError(
            f"Cannot write to {shown}: it is {kind}, not a regular file. Give the path of "
            "a file (an existing file is replaced; nothing else ever is)."
        )
    folder = target.parent
    try:
        folder_stat = os.stat(folder)
    except OSError:
        folder_stat = None
    if folder_stat is None or not stat.S_ISDIR(folder_stat.st_mode):
        raise FileNotFoundError(
            errno.ENOENT, f"Cannot write to {path}: the folder {folder} does not exist", str(path)
        )
    _check_links(path, target, links, folder_stat)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(
            errno.EACCES, f"Cannot write to {path}: the folder {folder} is not writable", str(path)
        )
    _refuse_inputs(path, target, inputs)
    return target, folder_stat


def resolve(path):
    """Resolve ``path`` as the kernel would, and return ``(real path, links followed)``.

    Like :func:`os.path.realpath` (a missing part is kept as given), but
    also returns each symbolic link met, as a :class:`Link`.
    """
    root, *pending = Path(path).absolute().parts
    current, links = Path(root), []
    while pending:
        name = pending.pop(0)
        if name == "..":  # current never holds a link, so its parent is the real one
            current = current.parent
            continue
        candidate = current / name
        try:
            info = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            return current.joinpath(name, *pending), links  # the rest does not exist yet
        if not stat.S_ISLNK(info.st_mode):
            current = candidate
            continue
        if len(links) == _MAX_LINKS:
            raise OSError(errno.ELOOP, f"Cannot write to {path}: too many symbolic links")
        folder = os.stat(current)
        links.append(Link(candidate, info.st_uid, folder.st_mode, folder.st_uid))
        first, *rest = Path(os.readlink(candidate)).parts or (".",)
        if os.path.isabs(first):
            current = Path(first)
        else:
            rest.insert(0, first)
        pending[:0] = [part for part in rest if part != "."]
    return current, links


def link_refusal(link, target_owner, writer):
    """Why ``link`` must not be followed to write a file owned by ``target_owner``, or None.

    Parameters
    ----------
    link : Link
        The link, its owner, and the mode and owner of its folder.
    target_owner : int
        The uid owning the file to be replaced (or, for a new file, its folder).
    writer : int
        The effective uid of the process writing.

    Returns
    -------
    reason : str or None
        None when the link may be followed.

    Examples
    --------
    >>> from pathlib import Path
    >>> planted = Link(Path("/tmp/m.hdrnn"), owner=1000, folder_mode=0o41777, folder_owner=0)
    >>> link_refusal(planted, target_owner=0, writer=0) is not None  # root, /tmp
    True
    >>> print(link_refusal(planted, target_owner=1000, writer=1000))
    None
    """
    sticky_shared = stat.S_ISVTX | stat.S_IWOTH
    if (link.folder_mode & sticky_shared) == sticky_shared and link.owner not in (
        writer,
        link.folder_owner,
    ):
        return (
            f"it is a symbolic link of another user ({_user(link.owner)}) in {link.path.parent}, "
            "a folder anyone may write to (sticky, like /tmp), where the kernel does not "
            "follow such links (protected_symlinks)"
        )
    if link.owner not in (writer, 0) and target_owner != link.owner:
        return (
            f"it is a symbolic link of user {_user(link.owner)} leading to a file of "
            f"{_user(target_owner)}, and another user's link may only lead to that user's files"
        )
    return None


def _check_links(path, target, links, folder_stat):
    """Raise PermissionError if a link on the way to ``target`` is refused."""
    if not links or not hasattr(os, "geteuid"):  # no file owners to compare (Windows)
        return
    existing = _lstat_or_none(target)
    owner = (existing or folder_stat).st_uid
    for link in links:
        reason = link_refusal(link, owner, os.geteuid())
        if reason is not None:
            shown = "" if link.path == Path(path).absolute() else f" through {link.path}"
            raise PermissionError(
                f"Cannot write to {path}{shown}: {reason}. Nothing was written; remove the "
                f"link, or give the path it leads to ({target}) if you mean to write there."
            )


def _refuse_inputs(path, target, inputs):
    """Raise ValueError if ``target`` is one of the files ``inputs`` (by device and inode)."""
    written = _lstat_or_none(target)
    if written is None:
        return
    for source in inputs:
        try:
            read = os.stat(source)
        except OSError:  # a missing input is reported by whoever reads it
            continue
        if (read.st_dev, read.st_ino) == (written.st_dev, written.st_ino):
            how = "" if Path(path) == Path(source) else " (the same file under another name)"
            raise ValueError(
                f"Cannot write to {path}: it is the input file {source} itself{how}; writing "
                "would replace what is being read. Choose another path for the output."
            )


def _lstat_or_none(path):
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _user(uid):
    """A user's name (and uid) for messages."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


@contextlib.contextmanager
def atomic_write(path, *, inputs=()):
    """Write a file under a temporary name and move it over ``path`` only when complete.

    Yields a binary file open for writing; its ``name`` is the temporary
    path. On any exception (Ctrl-C, a full disk) the temporary file is
    removed and ``path`` is left as it was. The destination's folder is
    held open from the check to the rename (where the platform allows it),
    so renaming folders meanwhile cannot redirect the write. The new file
    keeps the mode of the file it replaces when that file was the
    writer's own; otherwise (a new file, or another user's) it gets the
    usual mode for new files (umask applied).

    Parameters
    ----------
    path : str or path-like
        The destination; checked with :func:`check_writable_target`, whose
        rules (symbolic links included) apply.
    inputs : iterable of str or path-like, default=()
        Files being read, which ``path`` must not be.

    Yields
    ------
    file : file object

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_write(path) as file:
    ...     _ = file.write(b"all or nothing")
    >>> path.read_bytes()
    b'all or nothing'
    """
    target, folder_stat = _checked(Path(path), inputs)
    with _Folder(target.parent, folder_stat) as folder:
        name, file = folder.create_temporary(target.name)
        try:
            with file:
                yield file
                file.flush()
                os.fsync(file.fileno())
                mode = folder.mode_to_keep(target.name)
                if mode is not None:
                    os.chmod(file.fileno() if os.chmod in os.supports_fd else file.name, mode)
            folder.replace(name, target.name)
        except BaseException:
            folder.unlink(name)
            raise
        folder.sync()


class _Folder:
    """The folder of a file being replaced: open (POSIX) or by its path (elsewhere)."""

    def __init__(self, path, checked):
        self.path, self.fd = path, None
        if _HOLDS_FOLDER:
            try:
                self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
            except PermissionError:  # a folder one may write to but not read: by its path
                return
            opened = os.fstat(self.fd)
            if (opened.st_dev, opened.st_ino) != (checked.st_dev, checked.st_ino):
                os.close(self.fd)
                raise OSError(
                    errno.EAGAIN, f"The folder {path} was replaced while being checked; try again"
                )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.fd is not None:
            os.close(self.fd)

    def _name(self, name):
        return name if self.fd is not None else str(self.path / name)

    def create_temporary(self, beside):
        """``(name, file)``: a new file open for writing (mode 0o666 minus the umask)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            name = f".{beside}.{secrets.token_hex(4)}.tmp"
            with contextlib.suppress(FileExistsError):
                descriptor = os.open(self._name(name), flags, 0o666, dir_fd=self.fd)
                break
        # The file object takes the open descriptor; its name is the full temporary path.
        return name, open(self.path / name, "wb", opener=lambda *_: descriptor)

    def mode_to_keep(self, name):
        """The permission bits of the file ``name`` if it is the writer's own, else None."""
        try:
            info = os.stat(self._name(name), dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        mine = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
        return stat.S_IMODE(info.st_mode) if mine and stat.S_ISREG(info.st_mode) else None

    def replace(self, name, destination):
        os.replace(
            self._name(name), self._name(destination), src_dir_fd=self.fd, dst_dir_fd=self.fd
        )

    def unlink(self, name):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._name(name), dir_fd=self.fd)

    def sync(self):
        """Make the rename itself durable where the platform allows it (POSIX)."""
        with contextlib.suppress(OSError, AttributeError):
            if self.fd is not None:
                os.fsync(self.fd)
                return
            descriptor = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
