"""Write output files safely: complete or absent, never replacing without consent, never an input.

Every file vbgui writes goes through :func:`write_files` (or
:func:`write_file`).  The content is written to a temporary file beside the
target, named predictably (``.NAME.vbgui-tmp-PID-XXXX``), flushed and
fsynced; then

* without ``force`` the temporary file is hard-linked onto the final name,
  which fails if the name exists: of two processes writing one new path at
  the same moment exactly one wins, the other gets :class:`OutputFileError`
  (a check followed by a rename would let both "succeed");
* with ``force`` it is renamed over the target (``os.replace``, atomic).

A target that is one of the command's inputs (the same file after resolving
links) is refused even with ``force``.  Temporary files of a target left by
a process that no longer runs (killed mid-write) are removed at the next
write of that target.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Sequence

from vbgui.errors import OutputFileError

TEMP_MARK = ".vbgui-tmp-"
_UMASK = os.umask(0)
os.umask(_UMASK)  # read once at import: mkstemp creates 0600 files, we want the user's usual mode

Writer = Callable[[BinaryIO], None]


def temp_prefix(target: Path) -> str:
    """The name every temporary file of ``target`` starts with (``.NAME.vbgui-tmp-``)."""
    return f".{target.name}{TEMP_MARK}"


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary files of ``target`` whose writing process has gone; returns those removed."""
    folder = target.parent
    prefix = temp_prefix(target)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix):].partition("-")[0]
        if pid_text.isdigit() and _process_is_alive(int(pid_text)):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def same_file(first: str | Path, second: str | Path) -> bool:
    """True when both paths exist and name one file (links resolved, hard links included)."""
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):
        return False


def check_target(path: str | Path, *, force: bool, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse, before any work, an output that cannot or must not be written.

    Raises OutputFileError when the folder is missing, the path is a folder,
    the path is one of ``inputs`` (whatever ``force`` says), or it exists and
    ``force`` is false.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputFileError(f"{path}: the folder {folder} does not exist")
    for source in inputs:
        if same_file(path, source):
            raise OutputFileError(f"{path}: this is also an input ({source}); choose another output file "
                                  "(--force never replaces an input)")
    if path.is_dir():
        raise OutputFileError(f"{path}: is a folder, not a file")
    if (path.exists() or path.is_symlink()) and not force:
        raise OutputFileError(f"{path}: already exists; not overwritten (use --force to replace it)")
    return path


def _write_temp(target: Path, write: Writer) -> Path:
    folder = target.parent if str(target.parent) else Path(".")
    fd, name = tempfile.mkstemp(dir=folder, prefix=f"{temp_prefix(target)}{os.getpid()}-")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o666 & ~_UMASK)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _create_exclusively(temp: Path, target: Path) -> None:
    """Give ``temp``'s content the name ``target`` only if that name is free (FileExistsError otherwise)."""
    try:
        os.link(temp, target)
        return
    except FileExistsError:
        raise
    except OSError as exc:  # a file system without hard links: O_EXCL create, then copy
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out, open(temp, "rb") as source:
            shutil.copyfileobj(source, out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def write_files(outputs: Sequence[tuple[str | Path, Writer]], *, force: bool,
                inputs: Iterable[str | Path] = ()) -> list[Path]:
    """Write a set of files: each ``write(handle)`` fills one target; returns the targets.

    All contents are written to temporary files first, so a failing writer
    leaves every target as it was.  Then, in order, each target is created
    exclusively (``force`` false; if any name is taken meanwhile the targets
    already created by this call are removed and OutputFileError is raised)
    or replaced atomically (``force`` true).  OSError from the file system
    propagates; temporary files never outlive the call.
    """
    inputs = list(inputs)
    targets = [check_target(path, force=force, inputs=inputs) for path, _ in outputs]
    for target in targets:
        clean_stale_temps(target)
    temps: list[Path] = []
    created: list[Path] = []
    try:
        for target, (_, write) in zip(targets, outputs):
            temps.append(_write_temp(target, write))
        for temp, target in zip(temps, targets):
            if force:
                os.replace(temp, target)
                continue
            try:
                _create_exclusively(temp, target)
            except FileExistsError:
                raise OutputFileError(f"{target}: already exists (another writer created it just now); "
                                      "not overwritten (use --force to replace it)") from None
            created.append(target)
    except BaseException:
        if not force:  # an incomplete set is worse than none: remove what this call created
            for done in created:
                done.unlink(missing_ok=True)
        raise
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
    return targets


def write_file(path: str | Path, write: Writer, *, force: bool, inputs: Iterable[str | Path] = ()) -> Path:
    """:func:`write_files` for one file."""
    return write_files([(path, write)], force=force, inputs=inputs)[0]
