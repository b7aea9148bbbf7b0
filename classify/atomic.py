"""Atomic file writes: a failed or interrupted run never leaves half a file over a good one.

A run killed mid-write (``kill -9``, a power cut) cannot delete its temporary file, so the name says
whose it is: ``.<target>.<host>-<pid>-<random>.tmp``, with ``<host>`` a short hash of the host name.
Each later write into that folder removes the temporary files of writers that are gone: same host
and the process no longer exists. A live writer's file is never touched, whether it is another
process writing now or another thread of this one; a file from another host (a shared folder) is
removed only once it has not changed for :data:`STALE_SECONDS`, as are files named by classify
0.1 (``.<target>.<random>.tmp``, no owner in the name) beside the file being written.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from classify.errors import UsageError

#: How long a temporary file whose owner cannot be checked must sit unchanged before it is removed.
STALE_SECONDS = 24 * 3600

#: ``.<target>.<host>-<pid>-<random>.tmp`` (``tempfile.mkstemp`` draws ``<random>`` from ``[a-z0-9_]``).
_OURS = re.compile(r"^\.(?P<target>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[a-z0-9_]{8}\.tmp$")
#: classify 0.1's ``.<target>.<random>.tmp``: recognised only beside its own target, and by age.
_LEGACY = "^\\.{target}\\.[a-z0-9_]{{8}}\\.tmp$"


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, else delete it.

    The temporary file lives in the same folder so that the final ``os.replace`` is atomic. Stale
    temporary files of killed writers in that folder are removed first (see the module docstring).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent, target=path.name)
    prefix = f".{path.name}.{_host_tag()}-{os.getpid()}-"
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` to fill; on success its files take their places in
    ``path`` (the folder itself when ``path`` does not exist yet), else it is deleted.

    Every file is written and synced before the first one replaces anything, so a full disk or a
    killed run leaves the folder as it was, never half old and half new; files of ``path`` that the
    new set does not name stay.
    """
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent, target=path.name)
    prefix = f".{path.name}.{_host_tag()}-{os.getpid()}-"
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        for entry in tmp.iterdir():
            os.chmod(entry, 0o666 & ~_umask())
            _fsync(entry)
        _fsync(tmp)
        if not path.exists():
            os.rename(tmp, path)
        else:
            for entry in sorted(tmp.iterdir()):
                os.replace(entry, path / entry.name)  # renames only: no space needed from here
            tmp.rmdir()
        _fsync(path)
        _fsync(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync(path: Path) -> None:
    """Flush a file's bytes (or a folder's entries) to the disk: without it a power cut right after
    the rename can leave the new name pointing at an empty file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():  # some file systems cannot sync a folder; a file must be synced
            raise
    finally:
        os.close(fd)


def same_file(a: Path | str, b: Path | str) -> bool:
    """Whether two paths name one file, also through symbolic or hard links (same device and inode),
    or, when either does not exist yet, resolve to the same path."""
    try:
        first, second = os.stat(a), os.stat(b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def refuse_input_as_output(
    output: Path | str, inputs: Iterable[Path | str | None], *, what: str = "output"
) -> None:
    """Refuse to write ``output`` where it would replace one of ``inputs`` (``-``, stdin, and ``None``
    are skipped): every writer checks this before it reads anything, so no input is ever lost.

    Raises
    ------
    UsageError
        Naming the output and the input it would replace.
    """
    for source in inputs:
        if source is None or str(source) == "-":
            continue
        if same_file(output, source):
            raise UsageError(
                f"{output}: the {what} would replace the input {source}; write the {what} elsewhere"
            )


def refuse_inputs_inside(folder: Path | str, inputs: Iterable[Path | str | None], *, what: str) -> None:
    """Refuse to replace the folder ``folder`` as a whole when an input lies in it (or is it).

    Raises
    ------
    UsageError
        Naming the folder and the input in it.
    """
    root = Path(folder).resolve()
    for source in inputs:
        if source is None or str(source) == "-":
            continue
        resolved = Path(source).resolve()
        if resolved == root or root in resolved.parents or same_file(folder, source):
            raise UsageError(
                f"{folder}: the {what} would replace the input {source}, which is in it; "
                f"write the {what} elsewhere"
            )


def remove_stale_temp_files(folder: Path, *, target: str | None = None) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folder``; return what was removed.

    Parameters
    ----------
    folder
        Where to look (not recursively).
    target
        The name about to be written: classify 0.1's temporary files for it, which carry no owner,
        are removed too once :data:`STALE_SECONDS` old.

    Notes
    -----
    Never raises for a file it cannot check or remove (another cleaner may have been first): cleaning
    up must not stop the write it precedes.
    """
    removed: list[Path] = []
    legacy = re.compile(_LEGACY.format(target=re.escape(target))) if target else None
    host = _host_tag()
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.endswith(".tmp")]
    except OSError:
        return removed
    for name in names:
        match = _OURS.match(name)
        if match:
            same_host = match["host"] == host
            pid = int(match["pid"])
            stale = (same_host and not _alive(pid)) or (not same_host and _old(folder / name))
        else:
            stale = bool(legacy and legacy.match(name)) and _old(folder / name)
        if stale:
            with contextlib.suppress(OSError):
                if (folder / name).is_dir():  # a report folder's (atomic_folder)
                    import shutil

                    shutil.rmtree(folder / name)
                else:
                    (folder / name).unlink()
                removed.append(folder / name)
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (ours always does: another thread may be writing)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no cheap check elsewhere: treat it as alive, let age decide
        return True
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # exists but belongs to another user; or not a pid at all: leave it
    return True


def _old(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime > STALE_SECONDS
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
