"""Reading the archive of a model file with bounded work, before anything is trusted.

A model file may come from anyone, so nothing in it is believed until it
is checked: the kind of file (a pickle is refused, never opened), the zip
members (only names the format defines, no duplicates, no encryption, a
declared size that is a small multiple of the file at most), and each
member's ``.npy`` header (dtype and shape as the metadata describes them,
byte count consistent) *before* its data are read. Memory use is then
bounded by the file's size. What the arrays mean is checked afterwards,
in :mod:`hdrnn.persistence._schema`.
"""

import bz2
import json
import lzma
import re
import zipfile
import zlib

import numpy as np

from hdrnn.exceptions import ModelFileError, UnsafeModelError

# The member holding the JSON description of the model.
METADATA_MEMBER = "metadata.json"

# Names an hdrnn model file may hold (without ".npy").
_ARRAY_NAME = re.compile(
    r"(coefs|intercepts)_(0|[1-9][0-9]{0,2})|classes|feature_names_in|optimizer_[a-z_]{1,32}"
)

# Everything the members declare, uncompressed, may be at most this multiple
# of the file's size (plus a little for tiny files). Files hdrnn writes are
# stored uncompressed: their members add up to less than the file itself.
MAX_EXPANSION = 4
MAX_EXPANSION_SLACK = 1 << 20

# The JSON description stays small even with a long history_.
MAX_METADATA_BYTES = 64 << 20

# A bound on members, far above what any network has (two per layer + a few).
MAX_MEMBERS = 2 * 1000 + 8

# At most this much of a compressed file is read to see whether it holds a pickle.
MAX_SNIFF_BYTES = 1 << 20

# Leading bytes of files that are not model files, for a useful message.
_PICKLE_PROTOCOLS = range(2, 6)
_OLD_PICKLE_START = re.compile(
    rb"^(?:\((?:dp|lp)?\d*\n?)?(?:[(}\]]q?\x00?)?(?:c|\(i)[A-Za-z_][\w.]*\n[A-Za-z_][\w.]*\n"
)
_COMPRESSED_PICKLE_MAGIC = (  # the formats joblib.dump(compress=...) writes
    (b"\x1f\x8b", lambda: zlib.decompressobj(31)),  # gzip
    (b"BZh", bz2.BZ2Decompressor),
    (b"\xfd7zXZ\x00", lzma.LZMADecompressor),  # xz
    (b"\x5d\x00\x00", lzma.LZMADecompressor),  # lzma
    (b"\x78\x01", zlib.decompressobj),  # zlib, at each compression level
    (b"\x78\x5e", zlib.decompressobj),
    (b"\x78\x9c", zlib.decompressobj),
    (b"\x78\xda", zlib.decompressobj),
)


def damaged(path, reason):
    """The error for what looks like an hdrnn model file but cannot be used as one."""
    return ModelFileError(
        f"{path} is not a usable hdrnn model file: {reason}. If you saved it with "
        "hdrnn.save, the copy is damaged (truncated or modified): save it again from "
        "the trained model."
    )


def not_a_model(path, reason):
    """The error for a file that is not an hdrnn model file at all (a README, /dev/null...)."""
    return ModelFileError(
        f"{path} is not an hdrnn model file: {reason}. hdrnn reads the files that "
        "hdrnn.save (or hdrnn train --save) writes."
    )


def refuse_non_archives(path):
    """Raise a clear error for a file that is not a zip archive (a pickle, a .npy...)."""
    with open(path, "rb") as file:
        head = file.read(64)
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return
        if _is_pickle(head, file):
            raise UnsafeModelError(
                f"{path} is a pickle-based file (pickle or joblib), not an hdrnn model file. "
                "Loading a pickle runs code from the file, so hdrnn.load never does. If you "
                "made the file yourself, load it with joblib.load (on the command line, pass "
                "--trust-pickle); otherwise ask for an hdrnn.save file."
            )
    if head.startswith(b"\x93NUMPY"):
        raise not_a_model(path, "it is a single NumPy array (.npy), not a model archive")
    if not head:
        raise not_a_model(path, "it is empty")
    if b"PK\x03\x04".startswith(head[:4]):  # the first bytes of an archive, then nothing
        raise damaged(path, f"it ends after {len(head)} bytes, inside an archive's header")
    raise not_a_model(path, f"it is not a .npz archive (it starts with {head[:8]!r})")


def _is_pickle(head, file):
    """Whether the file starts a pickle, plain or compressed as joblib compresses.

    A compressed stream is inflated only until its first bytes come out, from
    at most MAX_SNIFF_BYTES of the file (bzip2 needs a whole block first).
    """
    for magic, make_decompressor in _COMPRESSED_PICKLE_MAGIC:
        if head.startswith(magic):
            decompressor, start, chunk = make_decompressor(), b"", head
            try:
                while len(start) < 2 and chunk and file.tell() <= MAX_SNIFF_BYTES:
                    start += decompressor.decompress(chunk, 8 - len(start))
                    chunk = file.read(1 << 16)
            except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
                return False
            return _is_plain_pickle(start)
    return _is_plain_pickle(head)


def _is_plain_pickle(head):
    if len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS:
        return True
    # Protocols 0 and 1 have no header: they start with opcodes. A pickled object
    # names its class early (GLOBAL "c<module>\n<name>\n" or INST "(i..."),
    # which text and archives never do.
    return _OLD_PICKLE_START.match(head) is not None


class ModelArchive:
    """The zip archive of a model file, opened with its members listed and bounded.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Raises
    ------
    ModelFileError
        If the file is not a zip archive, or its members break the rules above.
    """

    def __init__(self, path):
        self.path = path
        refuse_non_archives(path)
        try:
            self._zip = zipfile.ZipFile(path)
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            OSError,
            ValueError,
            EOFError,
            NotImplementedError,
        ) as error:
            raise damaged(path, f"it is not a readable .npz archive ({error})") from error
        try:
            self._members = self._check_members(path.stat().st_size)
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._zip.close()

    def _check_members(self, file_size):
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise damaged(self.path, f"it has {len(infos)} members")
        members = {}
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if not info.filename.endswith(".npy") or not (
                name == METADATA_MEMBER or _ARRAY_NAME.fullmatch(name)
            ):
                raise damaged(
                    self.path,
                    f"it holds a member the format does not define: {info.filename[:80]!r}",
                )
            if name in members:
                raise damaged(self.path, f"it holds the member {info.filename!r} twice")
            if info.flag_bits & 0x1:
                raise damaged(self.path, f"its member {info.filename!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise damaged(
                    self.path,
                    f"its member {info.filename!r} uses an unsupported compression method",
                )
            members[name] = info
        declared = sum(info.file_size for info in infos)
        if declared > MAX_EXPANSION * file_size + MAX_EXPANSION_SLACK:
            raise damaged(
                self.path,
                f"its members declare {declared:,} bytes of data, far more than a "
                f"{file_size:,}-byte file can hold",
            )
        return members

    @property
    def array_names(self):
        """set of str: the members other than the metadata, without ``.npy``."""
        return set(self._members) - {METADATA_MEMBER}

    def read_metadata(self):
        """Return the JSON description of the model, as a dict."""
        if METADATA_MEMBER not in self._members:
            raise damaged(self.path, "it has no hdrnn metadata")
        info = self._members[METADATA_MEMBER]
        if info.file_size > MAX_METADATA_BYTES:
            raise damaged(self.path, f"its metadata declares {info.file_size:,} bytes")
        document = self._read_array(METADATA_MEMBER, np.dtype(np.uint8), None)
        if document.ndim != 1:
            raise damaged(self.path, "its metadata is not a byte string")
        try:
            metadata = json.loads(document.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise damaged(self.path, f"its metadata is not valid JSON ({error})") from error
        if not isinstance(metadata, dict):
            raise damaged(self.path, "its metadata does not describe an hdrnn model")
        return metadata

    def read_arrays(self, description, allowed_dtypes):
        """Read every array member, each checked against ``description`` first.

        Parameters
        ----------
        description : dict
            ``{name: {"dtype": str, "shape": list of int}}`` from the metadata;
            it must name exactly the archive's array members.
        allowed_dtypes : callable
            ``allowed_dtypes(name, dtype)`` says whether a member may hold that dtype.

        Returns
        -------
        arrays : dict of str to ndarray
        """
        if not isinstance(description, dict) or set(description) != self.array_names:
            raise damaged(self.path, "its arrays are not the ones its metadata lists")
        arrays = {}
        for name in sorted(description):
            dtype, shape = self._described(name, description[name])
            if not allowed_dtypes(name, dtype):
                raise damaged(self.path, f"its array {name!r} has the unexpected dtype {dtype}")
            arrays[name] = self._read_array(name, dtype, shape)
        return arrays

    def _described(self, name, entry):
        try:
            dtype = np.dtype(entry["dtype"])
            shape = tuple(entry["shape"])
        except (TypeError, KeyError, ValueError, SyntaxError) as error:
            raise damaged(self.path, f"its description of {name!r} is invalid") from error
        if (
            dtype.hasobject
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
            or len(shape) > 2
        ):
            raise damaged(self.path, f"its description of {name!r} is invalid")
        return dtype, shape

    def _read_array(self, name, dtype, shape):
        """Read one member: its header must say ``dtype`` (and ``shape``, unless None)."""
        info = self._members[name]
        try:
            with self._zip.open(info) as member:
                header_dtype, header_shape = _read_npy_header(member)
                problem = _header_problem(
                    info, member.tell(), (header_dtype, header_shape), (dtype, shape)
                )
                if problem:
                    raise damaged(self.path, problem)
                array = np.empty(header_shape, dtype=dtype)
                view = memoryview(array.reshape(-1).view(np.uint8))
                # readinto fills the array in place; reading one byte more checks
                # the end, where zipfile also verifies the member's CRC.
                complete = member.readinto(view) == array.nbytes and not member.read(1)
        except zipfile.BadZipFile as error:
            if "CRC" in str(error):  # zipfile checks each member's CRC-32 as it reads
                raise damaged(self.path, f"checksum mismatch in {name}") from error
            raise damaged(self.path, f"its member {name!r} cannot be read ({error})") from error
        except (OSError, EOFError, zlib.error, _HeaderError, NotImplementedError) as error:
            # NotImplementedError: zipfile's answer to a member whose "version
            # needed to extract" byte asks for more than it implements.
            raise damaged(self.path, f"its member {name!r} cannot be read ({error})") from error
        if not complete:
            raise damaged(self.path, f"its member {name!r} is truncated")
        return array


def _header_problem(info, header_end, header, described):
    """What is wrong with a member's ``(dtype, shape)`` header, or None.

    ``described`` is what the metadata says; a shape of None accepts any.
    """
    (header_dtype, header_shape), (dtype, shape) = header, described
    if header_dtype != dtype or (shape is not None and header_shape != shape):
        return (
            f"the header of {info.filename!r} says {header_dtype} {list(header_shape)}, "
            f"its description {dtype} {list(header_shape if shape is None else shape)}"
        )
    n_bytes = int(np.prod(header_shape, dtype=object)) * dtype.itemsize
    if header_end + n_bytes != info.file_size:
        return f"the size of {info.filename!r} does not match its header"
    return None


class _HeaderError(ValueError):
    """A ``.npy`` header this reader refuses."""


def _read_npy_header(member):
    """Return ``(dtype, shape)`` from a ``.npy`` header; refuse Fortran order and objects."""
    try:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise _HeaderError(f"unsupported .npy version {version}")
    except _HeaderError:
        raise
    except Exception as error:
        # numpy's parser reads a header from someone else's bytes: whatever it
        # raises (ValueError, SyntaxError, tokenize's TokenError for a header
        # with an open bracket, MemoryError...), the header is damaged.
        raise _HeaderError(f"bad .npy header: {type(error).__name__}: {error}") from error
    if fortran_order or dtype.hasobject or len(shape) > 2:
        raise _HeaderError("not a C-ordered numeric or string array of at most two dimensions")
    return dtype, tuple(shape)
