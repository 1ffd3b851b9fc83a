"""Every output folder has one owner: a kind, an exclusive lock, all-or-nothing overwrite.

What the commands write into a folder is one of a few *kinds*, told apart by the files that
make them (:func:`folder_kind`):

==============  ===========================================================================
kind            the files that make it
==============  ===========================================================================
``run``         ``run.json`` / ``state.json`` / ``store.zarr`` (a segmentation run)
``pool``        ``pool.json`` or ``augmented_*`` sets (an augmented pool)
``report``      ``compare.json`` / ``report.md`` / ``jobs/`` (a comparison)
``consensus``   ``stability.json`` / ``consensus/`` with ``jobs/`` (a consensus over seeds)
``transfer``    ``checkpoint.pt`` with ``history.json`` (a style-transfer model)
``checkpoint``  nothing but ``checkpoint.pt`` (a run or a transfer model before its first
                epoch was committed)
``volumes``     ``*_seismic.npy`` / ``*.zarr`` / ``*.sgy`` / ``train/`` (volumes written by
                ``synthetic`` or ``export``)
``other``       anything else (a user's own files)
==============  ===========================================================================

:func:`claim` is what every writer calls before writing a folder: it refuses a folder of
another kind (``--overwrite`` never removes what is not ours), takes an exclusive advisory
lock (a second writer is refused in one line naming the holder; the lock goes with the
process, ``kill -9`` included) and, with ``overwrite``, removes everything old first --
checkpoints and test stores included -- under a marker that makes ``--resume`` refuse a
half-overwritten folder. Nothing here imports torch, Qt or napari.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = [
    "KINDS",
    "LOCK_FILE",
    "OVERWRITE_MARKER",
    "FolderBusy",
    "FolderError",
    "claim",
    "check_folder",
    "folder_kind",
    "is_empty",
    "owned",
    "remove_temporaries",
]

LOCK_FILE = ".napari-forgetting.lock"
OVERWRITE_MARKER = ".napari-forgetting.overwriting"
_OURS = frozenset({LOCK_FILE, OVERWRITE_MARKER})
KINDS = ("run", "pool", "report", "consensus", "transfer", "checkpoint", "volumes", "other")
#: What a kind is called in a message.
_WHAT = {
    "run": "a training run",
    "pool": "an augmented pool",
    "report": "a comparison report",
    "consensus": "a consensus over seeds",
    "transfer": "a style-transfer model",
    "checkpoint": "a checkpoint",
    "volumes": "volumes",
    "other": "files of its own",
}
#: Files whose presence makes a folder look complete: removed first on an overwrite.
_COMPLETING = ("state.json", "run.json", "pool.json", "compare.json", "stability.json",
               "history.json", "checkpoint.pt")  # fmt: skip


class FolderError(ValueError):
    """An output folder that cannot be written as asked (one line, naming the folder)."""


class FolderBusy(FolderError):
    """Another writer holds the folder's lock."""


def _names(path: Path) -> set[str]:
    try:
        return {n for n in os.listdir(path) if n not in _OURS}
    except FileNotFoundError:
        return set()


def is_empty(path: str | os.PathLike) -> bool:
    """True for a missing folder or one holding nothing but our lock and marker files."""
    return not _names(Path(path))


def folder_kind(path: str | os.PathLike) -> str | None:
    """The kind of what ``path`` holds (see the module docstring); ``None`` when empty or
    missing."""
    p = Path(path)
    names = _names(p)
    if not names:
        return None
    with contextlib.suppress(OSError):  # half overwritten: still what was being replaced
        marked = (p / OVERWRITE_MARKER).read_text().split()[0]
        if marked in KINDS:
            return marked
    if names & {"run.json", "state.json", "store.zarr"}:
        return "run"
    if "pool.json" in names or any(n.startswith("augmented_") for n in names):
        return "pool"
    if names & {"stability.json", "consensus"} and "compare.json" not in names:
        return "consensus"
    if names & {"compare.json", "report.md", "jobs"}:
        return "report"
    if "checkpoint.pt" in names:
        return "transfer" if "history.json" in names else "checkpoint"
    volume_like = (".npy", ".zarr", ".sgy", ".segy", ".manifest.json")
    if (p / "train").is_dir() or any(n.endswith(volume_like) for n in names):
        return "volumes"
    return "other"


def check_folder(
    path: str | os.PathLike,
    kind: str,
    *,
    resume: bool = False,
    overwrite: bool = False,
    accept: Iterable[str] = (),
    rerun: bool = False,
) -> Path:
    """Refuse (:class:`FolderError`) writing ``kind`` into ``path`` when it is a file, holds
    another kind (``accept``: kinds this writer also continues, e.g. a ``checkpoint`` for a
    run), is not empty and neither ``resume``, ``overwrite`` nor ``rerun`` (a writer that
    skips what is done, like ``compare``) says what to do with it, or was left half
    overwritten and is to be resumed. Takes no lock (:func:`claim` does): the early check
    a command makes before loading its data."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise FolderError(f"{p} is a file, not a folder")
    if resume and (p / OVERWRITE_MARKER).exists():
        raise FolderError(
            f"{p} was being overwritten when that stopped: nothing in it can be resumed; "
            "start over with --overwrite"
        )
    _refuse_if_busy(p)
    found = folder_kind(p)
    if found is None:
        return p
    if found != kind and found not in set(accept):
        flag = " (--overwrite only replaces the same kind)" if overwrite else ""
        raise FolderError(f"{p} holds {_WHAT[found]}, not {_WHAT[kind]}{flag}; pick another folder")
    if not (resume or overwrite or rerun):
        raise FolderError(
            f"{p} already holds {_WHAT[found]}; use --resume to continue it or --overwrite "
            "to start over, or pick another folder"
        )
    return p


# ---------------------------------------------------------------------------- the lock

_held: dict[str, list] = {}  # resolved path -> [thread id, depth, file object]
_held_guard = threading.Lock()


def _holder_line(path: Path, tries: int = 20) -> str:
    """Who holds the lock, from what it wrote in the lock file (a holder that has just taken
    the lock may not have written yet: read again for up to a second)."""
    for _ in range(tries):
        try:
            info = json.loads((path / LOCK_FILE).read_text())
            return f"pid {info['pid']} on {info['host']} ({info['command']}, since {info['since']})"
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.05)
    return "another process"


def _lock_file(fh) -> bool:  # noqa: ANN001
    """Try the exclusive lock without waiting; True when taken."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _refuse_if_busy(path: Path) -> None:
    """:class:`FolderBusy` when another writer holds ``path``'s lock now (a peek: the lock is
    taken and let go at once, nothing is created)."""
    if owned(path):
        return
    try:
        fh = open(path / LOCK_FILE)  # noqa: SIM115
    except OSError:  # no lock file: no writer
        return
    with fh:
        if not _lock_file(fh):
            raise FolderBusy(
                f"{path} is being written by {_holder_line(path)}; wait for it to finish or "
                "pick another folder"
            )


def _acquire(path: Path, what: str):  # noqa: ANN202
    """Open and lock ``path/LOCK_FILE`` (retrying when the file was replaced between open and
    lock), write who holds it; :class:`FolderBusy` when another writer does."""
    lock = path / LOCK_FILE
    for _ in range(10):
        fh = open(lock, "a+")  # noqa: SIM115 (held until release)
        if not _lock_file(fh):
            fh.close()
            raise FolderBusy(
                f"{path} is being written by {_holder_line(path)}; wait for it to finish or "
                "pick another folder"
            )
        try:
            same = os.fstat(fh.fileno()).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()  # the holder before us removed the file: lock the new one
    else:  # pragma: no cover - ten removals in a row
        raise FolderBusy(f"{path}: its lock file keeps changing; try again")
    fh.seek(0)
    fh.truncate()
    fh.write(json.dumps({
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": what,
        "since": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }))  # fmt: skip
    fh.flush()
    return fh


def _clear(path: Path, kind: str) -> None:
    """Remove everything in ``path`` but the lock, under :data:`OVERWRITE_MARKER` (which
    names the ``kind`` being replaced): first the files that make a folder look complete,
    then the rest, then the marker."""
    marker = path / OVERWRITE_MARKER
    marker.write_text(f"{kind}\nan overwrite was removing this folder's contents\n")
    order = sorted(_names(path), key=lambda n: (n not in _COMPLETING, n))
    for name in order:
        target = path / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    marker.unlink()


def remove_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove what a writer killed without a chance to clean up left in ``path`` (at any
    depth): the ``.<name>.*.tmp`` files and folders of
    :func:`~napari_forgetting.data.writers.atomic_path` and ``save_zarr``. Only safe under the
    folder's lock (:func:`claim` calls it). Returns what was removed."""
    gone = []
    for root, dirs, files in os.walk(path):
        for name in [*files, *dirs]:
            if name.startswith(".") and name.endswith(".tmp") and name not in _OURS:
                target = Path(root) / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        target.unlink()
                gone.append(target)
        dirs[:] = [d for d in dirs if not (d.startswith(".") and d.endswith(".tmp"))]
    return gone


@contextlib.contextmanager
def claim(
    path: str | os.PathLike,
    kind: str,
    *,
    resume: bool = False,
    overwrite: bool = False,
    accept: Iterable[str] = (),
    rerun: bool = False,
    what: str | None = None,
) -> Iterator[Path]:
    """Own ``path`` for writing ``kind`` while the body runs (see the module docstring):
    :func:`check_folder`, the lock (re-entrant in the thread that holds it; another thread
    or process is refused), and with ``overwrite`` (and not ``resume``) the old contents
    removed. The lock file is removed on release."""
    p = Path(path)
    key = str(p.resolve())
    me = threading.get_ident()
    with _held_guard:
        entry = _held.get(key)
        if entry is not None:
            if entry[0] != me:
                raise FolderBusy(
                    f"{p} is being written by another task of this process; wait for it to "
                    "finish or pick another folder"
                )
            entry[1] += 1
    if entry is not None:  # a nested step of the same writer: the outer claim checked
        try:
            yield p
        finally:
            with _held_guard:
                entry[1] -= 1
        return
    check_folder(p, kind, resume=resume, overwrite=overwrite, accept=accept, rerun=rerun)
    created = not p.exists()
    p.mkdir(parents=True, exist_ok=True)
    fh = _acquire(p, what or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200])
    with _held_guard:
        _held[key] = [me, 1, fh]
    try:
        # checked again under the lock: the folder may have changed while we waited
        check_folder(p, kind, resume=resume, overwrite=overwrite, accept=accept, rerun=rerun)
        found = folder_kind(p)
        if overwrite and not resume and found is not None:
            _clear(p, found)
        else:
            remove_temporaries(p)
        yield p
    finally:
        with _held_guard:
            _held.pop(key, None)
        with contextlib.suppress(OSError):
            os.remove(p / LOCK_FILE)  # before unlocking: a waiter then locks a new file
        fh.close()
        if created:  # a folder this writer made and left empty (it failed early) goes
            with contextlib.suppress(OSError):
                p.rmdir()


def owned(path: str | os.PathLike) -> bool:
    """True when this thread holds ``path``'s lock (a writer's own nested steps)."""
    entry = _held.get(str(Path(path).resolve()))
    return entry is not None and entry[0] == threading.get_ident()
