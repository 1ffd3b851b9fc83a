"""The ``napari-forgetting`` command line: :func:`main` and one module per command group.

==============================  ============================================================
module                          commands
==============================  ============================================================
:mod:`.volumes`                 ``info``, ``synthetic``
:mod:`.train`                   ``train``, ``transfer-train``, ``transfer-quality``,
                                ``transfer-figure``
:mod:`.runs`                    ``rank``
:mod:`.workflow`                ``augment``, ``retrain``, ``export``
:mod:`.compare`                 ``compare``
:mod:`.demo`                    ``demo`` (imports napari)
:mod:`.movie`                   ``movie`` (imports napari: napari-animation renders it)
:mod:`.args`                    what they share: option types, data options, folder checks
==============================  ============================================================

Exit status: 0 done; 1 the run failed (training diverged, a comparison job failed, or an
unexpected error, shown with its traceback); 2 a usage error -- a bad value, an unreadable
or invalid input file, a checkpoint refused, an output folder that is not empty, of another
kind or being written by another process, a read-only or full disk, a scheduler that does
not answer -- reported
as one line ``napari-forgetting: error: ...``; 130 interrupted (Ctrl-C or SIGTERM; a run
keeps its last complete epoch, continue with ``--resume``).

Only argparse at import time: the core is imported when a command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from napari_forgetting.cli.args import OneLineParser, UsageError

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> OneLineParser:
    from napari_forgetting.cli import compare, demo, movie, runs, train, volumes, workflow

    parser = OneLineParser(
        prog="napari-forgetting",
        description="Explain a seismic segmentation model by its forgettable learning dynamics.",
    )
    from napari_forgetting import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (demo, volumes, train, runs, workflow, compare, movie):
        group.register(sub)
    return parser


def _loaded(*names: str) -> tuple[type[BaseException], ...]:
    """The exception classes ``"module:Class"`` whose modules are imported (an error of a
    module never imported cannot have been raised; importing it just to catch would load
    torch for an ``info`` typo)."""
    found = []
    for name in names:
        module, _, cls = name.partition(":")
        if module in sys.modules:
            found.append(getattr(sys.modules[module], cls))
    return tuple(found)


def _input_errors() -> tuple[type[BaseException], ...]:
    """Errors about what the user gave (exit 2): bad values, files, runs and checkpoints."""
    return (UsageError, FileNotFoundError, FileExistsError, NotADirectoryError,
            IsADirectoryError, PermissionError) + _loaded(
        "napari_forgetting.data.errors:VolumeError",
        "napari_forgetting.data.folders:FolderError",
        "napari_forgetting.data.schema:SchemaError",
        "napari_forgetting.model.checkpoint:CheckpointError",
        "napari_forgetting.runs.store:RunStoreError",
        "napari_forgetting.workflow.compare:RefusedBeforeJobs",
    )  # fmt: skip


def _run_failures() -> tuple[type[BaseException], ...]:
    """Errors of a run that started (exit 1): training that cannot go on."""
    return _loaded("napari_forgetting.training.loop:TrainingError")


def _say(message: object) -> None:
    print(f"napari-forgetting: error: {message}", file=sys.stderr)


def _stop_on_sigterm() -> object:
    """SIGTERM (a scheduler's or ``kill``'s stop) as Ctrl-C: the run is recorded as stopped
    and temporary files are removed, instead of the process vanishing mid-write."""
    import signal
    import threading

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        _say(exc)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    previous = _stop_on_sigterm()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _input_errors() as exc:
        _say(exc)
        return EXIT_USAGE
    except _run_failures() as exc:
        _say(exc)
        return EXIT_FAILED
    except OSError as exc:  # a read-only or full disk, a scheduler that does not answer
        _say(_os_error_line(exc))
        return EXIT_USAGE
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]


def _os_error_line(exc: OSError) -> str:
    """One line of an OSError: the file and what the system said."""
    from napari_forgetting.data.errors import one_line

    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return one_line(exc, limit=None)
