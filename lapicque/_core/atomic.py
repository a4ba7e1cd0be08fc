"""Atomic file writes: a file holds either its previous content or the complete new one, never a part.

Every file lapicque writes (results as NPZ or CSV, network results,
checkpoints) goes through :func:`atomic_write` or :func:`atomic_path`: the
content is written to a hidden temporary file in the target's folder
(``.<stem>.<pid>-<random>.tmp<ext>``, e.g. ``.run.4711-9f2c01ab.tmp.npz``), flushed to disk, and renamed over the
target with :func:`os.replace`, which is atomic on POSIX and Windows within
one file system.  If anything fails before the rename -- a full disk, an
exception in the writer, Ctrl-C -- the temporary file is removed and the
previous file (if any) is left untouched.

A replaced file keeps its permission bits; a new file gets the usual
``0o666`` masked by the process umask (what :func:`open` would give it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from typing import IO, Iterator

__all__ = ["atomic_write", "atomic_path"]


def _temporary(path: str):
    """Create an empty hidden temporary file beside ``path``; returns ``(fd, tmp_path)``."""
    folder, name = os.path.split(os.path.abspath(path))
    stem, ext = os.path.splitext(name)  # the extension is kept: writers that read it (savefig) see the same
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{ext}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


def _commit(tmp: str, path: str) -> None:
    """Rename ``tmp`` over ``path``, keeping the permission bits of the file it replaces."""
    try:
        os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
    except FileNotFoundError:
        pass
    os.replace(tmp, path)


def _discard(tmp: str) -> None:
    try:
        os.remove(tmp)
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def atomic_path(path) -> Iterator[str]:
    """Yield the name of a temporary file to write instead of ``path``; rename it over ``path`` on success.

    For writers that take a file name rather than an open file (e.g.
    ``matplotlib``'s ``savefig``).  The temporary file exists (empty) when
    the block starts; on any exception (``KeyboardInterrupt`` included) it
    is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.

    Examples
    --------
    >>> import os, tempfile
    >>> from lapicque._core.atomic import atomic_path
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(target) as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("done")
    >>> open(target).read(), os.listdir(os.path.dirname(target))
    ('done', ['out.txt'])
    """
    path = os.fspath(path)
    fd, tmp = _temporary(path)
    os.close(fd)
    try:
        yield tmp
        _commit(tmp, path)
    except BaseException:
        _discard(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", *, encoding=None, newline=None) -> Iterator[IO]:
    """Open a temporary file for writing in place of ``path``; on success it replaces ``path``.

    The file object is flushed and synced to disk before the rename, so
    ``path`` never holds a partial write, even after a crash.  On any
    exception in the block (``KeyboardInterrupt`` included) the temporary
    file is removed and ``path`` keeps its previous content.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    mode : {'wb', 'w'}, default 'wb'
        Binary or text.
    encoding, newline : optional
        As for :func:`open` (text mode).

    Examples
    --------
    >>> import os, tempfile
    >>> from lapicque._core.atomic import atomic_write
    >>> target = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> with atomic_write(target, "w", encoding="utf-8") as f:
    ...     _ = f.write("a,b\\n")
    >>> try:
    ...     with atomic_write(target, "w") as f:
    ...         _ = f.write("half a li")
    ...         raise OSError("disk full")
    ... except OSError:
    ...     pass
    >>> open(target).read(), os.listdir(os.path.dirname(target))
    ('a,b\\n', ['data.csv'])
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb'; got {mode!r}.")
    path = os.fspath(path)
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            fd = None  # the file object owns it now
            yield f
            f.flush()
            os.fsync(f.fileno())
        _commit(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        _discard(tmp)
        raise
