"""Output files and folders, checked before any work starts and written safely.

simsgp writes a few kinds of output: a sweep's ``--out`` folder (run files,
``results.csv``, ``results.parquet``), the figures of ``simsgp plot --dest``
and the trace of ``simsgp run --trace``. This module holds the two rules they
all follow:

- Check first: :func:`check_file_target` and :func:`check_folder_target` are
  called before anything runs, so a target that cannot be written (a folder
  where a file is wanted, a missing parent, a symbolic link, somebody else's
  file) is a one-line error at once, not after hours of simulation. A
  symbolic link at the target is always refused: simsgp never writes through
  one.
- Write atomically: :func:`write_atomic` writes a hidden temporary file in the
  target's folder and renames it over the target, so a reader sees the old
  file or the new one, never half of one, and a failed write leaves nothing
  behind. New files get the usual mode for the umask (``0644`` under ``022``).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as folder:
...     target = check_file_target(Path(folder) / "a.txt", option="--out")
...     write_atomic(target, b"hello\\n")
...     sorted(p.name for p in Path(folder).iterdir()), target.read_bytes()
(['a.txt'], b'hello\\n')
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from simsgp.errors import SimsgpError, shown

__all__ = ["check_file_target", "check_folder_target", "write_atomic"]


def check_file_target(
    path: str | os.PathLike[str],
    *,
    option: str,
    what: str = "a file written by simsgp",
    force: bool = False,
    ours: Callable[[Path], bool] | None = None,
) -> Path:
    """Check that a file can be written at ``path``, before any work starts.

    Parameters
    ----------
    path : str or path-like
        The file to be written.
    option : str
        How the user gave ``path`` (``"--trace"``), named in every error.
    what : str, keyword-only
        What ``ours`` recognises, for the error about an existing file
        (``"a trace written by simsgp"``).
    force : bool, keyword-only
        Overwrite an existing regular file even if it is not ours.
    ours : callable, keyword-only, optional
        ``ours(path)`` is true when the existing file at ``path`` is one that
        simsgp wrote and may overwrite. Without it every existing file is
        refused unless ``force``.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    SimsgpError
        One line naming ``option``: the path is empty, too long or holds a NUL
        character; its folder is missing, not a folder or not writable; the
        target is a folder, a symbolic link or not a regular file; or it is an
        existing file that is not ours and ``force`` is false.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     check_file_target(folder, option="--trace")
    Traceback (most recent call last):
    ...
    simsgp.errors.SimsgpError: --trace='...' is a folder; expected a file path
    """
    target, name, info = _inspect(path, option)
    if info is None:
        parent = target.parent
        if _lstat(parent, name) is None:
            raise SimsgpError(f"{name}: folder {str(parent)!r} does not exist; create it first")
        if not parent.is_dir():
            raise SimsgpError(f"{name}: {str(parent)!r} is not a folder; expected a file path in a folder")
        _check_writable(parent, name)
        return target
    _refuse_link(info, name, "a plain file path")
    if stat.S_ISDIR(info.st_mode):
        raise SimsgpError(f"{name} is a folder; expected a file path")
    if not stat.S_ISREG(info.st_mode):
        raise SimsgpError(f"{name} is not a regular file (a device, pipe or socket); expected a file path")
    if not force and not (ours is not None and ours(target)):
        raise SimsgpError(f"{name} exists and is not {what}; pass --force to overwrite it")
    _check_writable(target.parent, name)
    return target


def check_folder_target(
    path: str | os.PathLike[str],
    *,
    option: str,
    what: str = "made by simsgp",
    force: bool = False,
    ours: Callable[[Path], bool] | None = None,
) -> Path:
    """Check that output can go into the folder ``path`` (made if missing), before any work starts.

    Parameters
    ----------
    path : str or path-like
        The folder to write into; it may not exist yet.
    option : str
        How the user gave ``path`` (``"--out"``), named in every error.
    what : str, keyword-only
        What ``ours`` recognises, as a phrase after "not" (``"made by simsgp
        sweep"``).
    force : bool, keyword-only
        Write into an existing non-empty folder even if it is not ours.
    ours : callable, keyword-only, optional
        ``ours(path)`` is true when the existing folder was made by the same
        command, so writing into it again is expected. Without it every
        non-empty folder is refused unless ``force``.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    SimsgpError
        One line naming ``option``: the path is empty, too long or holds a NUL
        character; it is a file or a symbolic link; the folder cannot be made
        (a file on the way, or no write permission); or it is a non-empty
        folder that is not ours and ``force`` is false.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.NamedTemporaryFile() as file:
    ...     check_folder_target(file.name, option="--out", what="made by simsgp sweep")
    Traceback (most recent call last):
    ...
    simsgp.errors.SimsgpError: --out='...' is a file; expected a folder (new or made by simsgp sweep)
    """
    target, name, info = _inspect(path, option)
    if info is None:
        ancestor = next(a for a in target.absolute().parents if _lstat(a, name) is not None)
        if not ancestor.is_dir():
            raise SimsgpError(f"{name}: {str(ancestor)!r} is not a folder, so no folder can be made in it")
        _check_writable(ancestor, name)
        return target
    _refuse_link(info, name, "a real folder")
    if not stat.S_ISDIR(info.st_mode):
        raise SimsgpError(f"{name} is a file; expected a folder (new or {what})")
    _check_writable(target, name)
    if not force and any(target.iterdir()) and not (ours is not None and ours(target)):
        raise SimsgpError(f"{name} is a non-empty folder not {what}; pass --force to write into it")
    return target


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the mode the umask gives a new file.

    The bytes go to a hidden temporary file ``.NAME.XXXXXXXX.tmp`` in the
    same folder, are flushed to disk (``fsync``) and the file is renamed over
    ``path`` (:func:`os.replace`). On any failure, an interrupt included, the
    temporary file is removed and ``path`` is unchanged.

    Parameters
    ----------
    path : str or path-like
        The file; its folder must exist.
    data : bytes
        The whole new content.

    Raises
    ------
    SimsgpError
        ``path`` is a symbolic link (never written through) or a folder, or
        the operating system refused the write (no space, no permission),
        in one line naming the file.
    """
    target = Path(path)
    temporary = None
    try:
        with contextlib.suppress(FileNotFoundError):
            info = os.lstat(target)
            _refuse_link(info, repr(str(target)), "a plain file")
            if stat.S_ISDIR(info.st_mode):
                raise SimsgpError(f"cannot write {str(target)!r}: it is a folder; remove it or choose another path")
        handle = None
        while handle is None:  # the name is known before the file exists, so an interrupt cannot orphan it
            name = temporary = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
            try:
                handle = os.open(name, _NEW_FILE, 0o666)  # the umask applies, as to any new file
            except FileExistsError:
                temporary = None  # another writer's: not ours to remove
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(name, target)
        temporary = None
    except OSError as exc:
        raise SimsgpError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from exc
    finally:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


# --- helpers --------------------------------------------------------------------

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
"""Flags that create a file that must not exist yet, for writing."""


def _inspect(path: str | os.PathLike[str], option: str) -> tuple[Path, str, os.stat_result | None]:
    """``path`` as a Path, as ``option=path`` for messages, and its ``lstat`` (``None`` if nothing is there).

    An unusable path (empty, too long, a NUL character) is a one-line error.
    """
    text = os.fspath(path)
    if not text:
        raise SimsgpError(f"{option}='' is empty; expected a path")
    name = f"{option}={shown(text)}"
    return Path(text), name, _lstat(Path(text), name)


def _lstat(path: Path, name: str) -> os.stat_result | None:
    """``os.lstat(path)``, ``None`` if it does not exist; any other failure is a one-line error."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except ValueError:
        raise SimsgpError(f"{name} holds a NUL character; expected a path") from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise SimsgpError(f"{name} is too long for this system; expected a shorter path") from None
        if exc.errno == errno.ENOTDIR:
            raise SimsgpError(f"{name}: a part of the path before the last is a file, not a folder") from None
        raise SimsgpError(f"{name}: cannot inspect {str(path)!r} ({exc.strerror or exc})") from None


def _refuse_link(info: os.stat_result, name: str, expected: str) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise SimsgpError(f"{name} is a symbolic link; expected {expected} (simsgp never writes through a link)")


def _check_writable(folder: Path, name: str) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SimsgpError(f"{name}: folder {str(folder)!r} is not writable")
