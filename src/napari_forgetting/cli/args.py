"""What every command shares: the parser that reports a bad value in one line, option types
that check their values, the data options, the checks of an output folder, and the trainers'
options, derived from their config fields (:func:`add_config_arguments`: one definition per
option, the field's; :func:`config_values` reads them back).

A bad value on the command line never reaches the core as a traceback: the option types
below refuse it while parsing (``argparse`` calls them), and :class:`OneLineParser` turns the
refusal into :class:`UsageError`, which :func:`napari_forgetting.cli.main` prints as one line
``napari-forgetting: error: ...`` and exit status 2. Only argparse at import time.
"""

from __future__ import annotations

import argparse
import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "HIDDEN_ALIASES",
    "OneLineParser",
    "TRANSFER_METHODS",
    "UsageError",
    "add_data_arguments",
    "add_header_byte_arguments",
    "add_quiet_argument",
    "add_shape_argument",
    "add_config_arguments",
    "add_training_arguments",
    "bounded_float",
    "config_values",
    "add_transfer_checkpoint_argument",
    "add_transfer_method_argument",
    "MAX_FRAME_SIDE",
    "MAX_PER_SOURCE",
    "at_least",
    "at_most",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "refuse_nonempty",
    "thread_count",
    "transfer_method",
    "usage_errors",
]

#: One name per concept across the subcommands: an option's canonical name (shown in
#: ``--help``) and its old spellings, which still parse to the same value but are hidden from
#: ``--help`` (:meth:`OneLineParser.add_argument`'s ``hidden_aliases``). Every subcommand that
#: has the option accepts all of its names, except ``--data-seed``'s ``--seed``: only
#: ``synthetic``, the one command where ``--seed`` was the seed of the generated volume
#: (elsewhere ``--seed`` is the command's own seed: training, triples, pool).
HIDDEN_ALIASES: dict[str, tuple[str, ...]] = {
    "--patch-size": ("--patch",),
    "--threads": ("--num-threads",),
    "--quiet": ("--no-progress",),
    "--transfer-checkpoint": ("--transfer",),
    "--data-seed": ("--seed",),
}
#: The values of ``--transfer-method`` (the same as
#: :data:`napari_forgetting.transfer.apply.TRANSFER_METHODS`, which imports torch).
TRANSFER_METHODS = ("learned", "stratal")


class UsageError(Exception):
    """The command line asks for something impossible: a bad value, a missing or unreadable
    input, an output folder that is not empty. Exit status 2, one line, no traceback."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` (printed as one line by
    ``main``) instead of printing the usage and exiting; subcommand parsers are of this
    class too (``add_subparsers`` makes parsers of the parent's class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.split(" ", 1)[1] if " " in self.prog else None
        where = f" (see napari-forgetting {command} --help)" if command else ""
        raise UsageError(f"{message}{where}")

    def add_argument(
        self, *args: Any, hidden_aliases: Sequence[str] = (), **kwargs: Any
    ) -> argparse.Action:
        """As argparse's; an option without help text still shows its default in
        ``--help``. ``hidden_aliases``: other spellings of the option (old names, see
        :data:`HIDDEN_ALIASES`) that parse to the same destination with the same type,
        count and checks, but are left out of ``--help`` and the usage line (argparse cannot
        hide one string of an option's several, so each alias is an option of its own whose
        help and default are suppressed: it sets the value only when given)."""
        action = super().add_argument(*args, **kwargs)
        if not action.help and action.option_strings and _shows_default(action):
            action.help = "(default: %(default)s)"
        if hidden_aliases:
            alias_kwargs = {k: v for k, v in kwargs.items() if k not in ("help", "required")}
            alias_kwargs.update(dest=action.dest, help=argparse.SUPPRESS, default=argparse.SUPPRESS)
            alias = super().add_argument(*hidden_aliases, **alias_kwargs)
            alias.alias_of = action  # type: ignore[attr-defined]
        return action

    def set_defaults(self, **kwargs: Any) -> None:
        """As argparse's; a hidden alias keeps its suppressed default (only the option it
        spells sets the value when neither is given)."""
        super().set_defaults(**kwargs)
        for action in self._actions:
            if _is_alias(action):
                action.default = argparse.SUPPRESS

    def get_default(self, dest: str) -> Any:
        """As argparse's, blind to hidden aliases (whose default is suppressed)."""
        for action in self._actions:
            if action.dest == dest and action.default is not None and not _is_alias(action):
                return action.default
        return self._defaults.get(dest, None)


def _is_alias(action: argparse.Action) -> bool:
    """A hidden alias added by :meth:`OneLineParser.add_argument`."""
    return getattr(action, "alias_of", None) is not None


def _shows_default(action: argparse.Action) -> bool:
    """An option whose default says something (not ``None``, not a flag's ``False``)."""
    d = action.default
    return not (d is None or d is False or d == argparse.SUPPRESS) and (
        action.help != argparse.SUPPRESS
    )


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """``--help`` with every option's default (``(default: ...)``), unless its help already
    says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "%(default)" not in text and "default" not in text.lower()
            and action.option_strings and _shows_default(action)
        ):  # fmt: skip
            text += " (default: %(default)s)"
        return text


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def at_least(minimum: int) -> Callable[[str], int]:
    """An option type: a whole number >= ``minimum``."""

    def check(text: str) -> int:
        value = _int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    check.__name__ = f"int>={minimum}"
    return check


positive_int = at_least(1)
nonnegative_int = at_least(0)
#: Upper bounds of options whose size costs memory or time beyond any use.
MAX_FRAME_SIDE = 8192
MAX_PER_SOURCE = 10_000


def thread_count(text: str) -> int:
    """An option type: a number of threads from 1 to this machine's cores."""
    import os

    n = positive_int(text)
    cores = os.cpu_count() or 1
    if n > cores:
        raise argparse.ArgumentTypeError(f"{n} threads on a machine of {cores} cores")
    return n


def at_most(limit: int, minimum: int = 1) -> Callable[[str], int]:
    """An option type: a whole number from ``minimum`` to ``limit``."""

    def parse(text: str) -> int:
        n = at_least(minimum)(text)
        if n > limit:
            raise argparse.ArgumentTypeError(f"{n} is more than {limit}")
        return n

    parse.__name__ = f"at most {limit}"
    return parse


def bounded_float(
    above: float | None = None, minimum: float | None = None, maximum: float | None = None
) -> Callable[[str], float]:
    """An option type: a finite number ``> above``, ``>= minimum`` and ``<= maximum`` (each
    bound where given)."""
    limits = ((">", above), (">=", minimum), ("<=", maximum))
    bounds = " and ".join(f"{word} {bound:g}" for word, bound in limits if bound is not None)
    wanted = f"a finite number {bounds}".strip()

    def check(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (
            math.isfinite(value)
            and (above is None or value > above)
            and (minimum is None or value >= minimum)
            and (maximum is None or value <= maximum)
        ):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    check.__name__ = wanted
    return check


#: An option type: a finite number > 0.
positive_float = bounded_float(above=0)


@contextlib.contextmanager
def usage_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Turn ``ValueError`` (and ``kinds``) raised while the inputs are interpreted -- a
    config refusing a combination of values, a class name the data lacks -- into
    :class:`UsageError`. Use it around reading the options, not around a run."""
    try:
        yield
    except (ValueError, *kinds) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        raise UsageError(str(message)) from exc


def refuse_nonempty(
    out: str | Path,
    resume: bool = False,
    overwrite: bool = False,
    kind: str = "run",
    accept: Sequence[str] = ("checkpoint",),
) -> Path:
    """``out`` as a path, after :func:`~napari_forgetting.data.folders.check_folder`: refused
    (one line) when it is a file, holds another kind than ``kind``, or is not empty and
    neither ``--resume`` nor ``--overwrite`` was given. The writer itself then claims it."""
    from napari_forgetting.data.folders import check_folder

    return check_folder(out, kind, resume=resume, overwrite=overwrite, accept=accept)


#: The segmentation training options ``train``, ``compare`` and ``consensus`` share
#: (:class:`~napari_forgetting.training.config.TrainConfig` fields), in their ``--help`` order.
TRAINING_OPTIONS = (
    "epochs",
    "device",
    "batch_size",
    "patch_size",
    "patches_per_epoch",
    "lr",
    "every",
    "exclude_validation_traces",
    "num_threads",
)
#: Option types the command line checks beyond a field's bounds (this machine's cores).
CHECKED_FLAGS: dict[str, Callable[[str], Any]] = {"--threads": thread_count}


def add_training_arguments(parser: Any, threads: int | None = None) -> None:
    """The segmentation training options of :data:`TRAINING_OPTIONS` (``compare`` and
    ``consensus``), derived from :class:`~napari_forgetting.training.config.TrainConfig`
    (:func:`add_config_arguments`); ``threads``: ``--threads``' default, per job."""
    from napari_forgetting.training.config import TrainConfig

    defaults = None if threads is None else {"num_threads": threads}
    add_config_arguments(parser, TrainConfig, TRAINING_OPTIONS, defaults=defaults)


def offered(config: type) -> list[Any]:
    """The fields of the dataclass ``config`` that have a command-line option, in order
    (:class:`~napari_forgetting.training.options.Described`): those without ``no_flag``,
    less those that another field's option sets too (``also``)."""
    from napari_forgetting.training.options import described

    fields = described(config)
    set_by_others = {name for d in fields for name in d.option.also}
    return [d for d in fields if d.option.no_flag is None and d.name not in set_by_others]


def config_dest(field: Any) -> str:
    """The ``argparse`` destination of a field's option (its flag's)."""
    return str(field.flag).lstrip("-").replace("-", "_")


def add_config_arguments(
    parser: Any,
    config: type,
    names: Sequence[str] | None = None,
    *,
    defaults: dict[str, Any] | None = None,
    given_only: dict[str, str | None] | None = None,
) -> None:
    """The command-line options of the dataclass ``config``'s fields ``names`` (default:
    :func:`offered`), each derived from its field: the flag, its hidden aliases
    (:data:`HIDDEN_ALIASES`), its type and bounds, choices, default and help
    (:class:`~napari_forgetting.training.options.Option`). A ``bool`` field is a flag that
    sets it (``--exclude-validation-traces``), or, when its default is ``True``, that clears
    it (``--no-stats``). ``defaults``: another default for a field where this command needs
    one (``--threads 1`` per job). ``given_only``: fields whose option has no value unless
    given (``None``: the field's default or another's applies), each with the words that
    ``--help`` shows as its default (``None``: the field's default). Read the values back
    with :func:`config_values`."""
    from napari_forgetting.training.options import describe

    for name in names if names is not None else [d.name for d in offered(config)]:
        field = describe(config, name)
        shown = field.option.none if field.default is None else None
        kwargs: dict[str, Any] = {"default": field.default}
        if defaults and name in defaults:
            kwargs["default"], shown = defaults[name], None
        if given_only and name in given_only:
            kwargs["default"], shown = None, given_only[name] or str(field.default)
        kwargs.update(_config_argument(field, shown))
        parser.add_argument(field.flag, hidden_aliases=HIDDEN_ALIASES.get(field.flag, ()), **kwargs)


def _config_argument(field: Any, shown: str | None) -> dict[str, Any]:
    """The ``add_argument`` keywords of a field but its default (:func:`add_config_arguments`);
    ``shown``: the words ``--help`` shows as its default (``None``: the default itself)."""
    opt = field.option
    text = opt.help.replace("%", "%%")
    if field.kind is bool:
        words = f"without {text}" if field.default else text
        return {"action": "store_true", "default": False, "help": words}
    kwargs: dict[str, Any] = {"help": f"{text} (default: {shown})" if shown else text}
    kind = field.item if field.kind is tuple else field.kind
    if opt.choices is not None:
        kwargs.update(type=type(opt.choices[0]), choices=list(opt.choices))
    elif field.flag in CHECKED_FLAGS:
        kwargs["type"] = CHECKED_FLAGS[field.flag]
    elif kind is int:
        kwargs["type"] = _int_type(opt.min, opt.max)
    elif kind is float:
        kwargs["type"] = bounded_float(opt.above, opt.min, opt.max)
    if field.kind is tuple:
        sized = isinstance(field.default, tuple)
        kwargs.update(nargs=len(field.default) if sized else "+", metavar=opt.metavar)
    return kwargs


def _int_type(minimum: float | None, maximum: float | None) -> Callable[[str], int]:
    if maximum is not None:
        return at_most(int(maximum), int(minimum if minimum is not None else 1))
    if minimum is None:
        return _int
    return {1: positive_int, 0: nonnegative_int}.get(int(minimum)) or at_least(int(minimum))


def config_values(args: argparse.Namespace, config: type) -> dict[str, Any]:
    """The dataclass ``config``'s keyword arguments from the options
    :func:`add_config_arguments` added: each offered field whose option this command has,
    with the fields its option sets too (``also``); a ``given_only`` option not given is
    left out (the field's default applies)."""
    out: dict[str, Any] = {}
    for field in offered(config):
        dest = config_dest(field)
        if not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if field.kind is bool and field.default:
            value = not value  # --no-stats clears track_stats
        elif value is None and field.default is not None:
            continue  # a given_only option, not given
        elif isinstance(value, list):
            value = tuple(value)
        for name in (field.name, *field.option.also):
            out[name] = value
    return out


def add_quiet_argument(parser: Any) -> None:
    """``--quiet`` (hidden alias ``--no-progress``): no progress bar."""
    parser.add_argument(
        "--quiet",
        hidden_aliases=HIDDEN_ALIASES["--quiet"],
        action="store_true",
        help="no progress bar",
    )


def add_data_arguments(parser: Any, required: bool = True) -> None:
    """The options :func:`napari_forgetting.data.source.load_data` takes: ``--data
    PATH|synthetic``, ``--labels``, ``--shape`` / ``--data-seed`` (synthetic) and ``--iline``
    / ``--xline`` (SEG-Y header bytes). ``required``: whether ``--data`` must be given."""
    parser.add_argument(
        "--data", required=required, help="labelled SEG-Y/.npy/zarr, or 'synthetic'"
    )
    parser.add_argument("--labels", help="labels file (default: found beside the seismic)")
    add_shape_argument(parser, help="--data synthetic: volume shape")
    parser.add_argument(
        "--data-seed", type=nonnegative_int, default=0, help="--data synthetic: seed"
    )
    add_header_byte_arguments(parser)


def add_shape_argument(parser: Any, help: str | None = None) -> None:
    """``--shape INLINES CROSSLINES SAMPLES`` of a synthetic volume (default
    :data:`~napari_forgetting.data.synthetic.DEFAULT_SHAPE`)."""
    from napari_forgetting.data.synthetic import DEFAULT_SHAPE

    parser.add_argument(
        "--shape",
        type=positive_int,
        nargs=3,
        default=DEFAULT_SHAPE,
        metavar=("INLINES", "CROSSLINES", "SAMPLES"),
        help=help,
    )


def add_header_byte_arguments(parser: Any) -> None:
    """``--iline`` / ``--xline``: the SEG-Y trace header bytes of the line numbers."""

    def byte(text: str) -> int:
        import segyio

        n = at_least(1)(text)
        if n not in {int(v) for v in segyio.TraceField.enums()}:
            raise argparse.ArgumentTypeError(
                f"{n} is not the byte position of a SEG-Y trace-header field (e.g. 189, 193, "
                "9, 17, 21)"
            )
        return n

    parser.add_argument("--iline", type=byte, default=189, help="inline header byte (SEG-Y)")
    parser.add_argument("--xline", type=byte, default=193, help="crossline header byte (SEG-Y)")


def add_min_pixels_argument(parser: argparse.ArgumentParser) -> None:
    """``--min-pixels N`` of ``rank`` and ``augment`` (default
    :data:`~napari_forgetting.dynamics.ranking.DEFAULT_MIN_PIXELS`)."""
    from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS

    parser.add_argument(
        "--min-pixels",
        type=nonnegative_int,
        default=DEFAULT_MIN_PIXELS,
        help="leave out sections with fewer pixels of the class: a style pooled from fewer "
        f"pixels is mostly noise (default {DEFAULT_MIN_PIXELS}; 0: every section)",
    )


def transfer_method(text: str) -> str:
    """An option type: a name of :data:`TRANSFER_METHODS` (refused as
    :func:`~napari_forgetting.transfer.apply.method_choice` refuses it)."""
    if text not in TRANSFER_METHODS:
        raise argparse.ArgumentTypeError(
            f"unknown transfer method {text!r}; choose {' or '.join(TRANSFER_METHODS)}"
        )
    return text


def add_transfer_method_argument(parser: Any, help: str) -> None:
    """``--transfer-method {learned,stratal}`` (``augment``, ``compare``,
    ``transfer-quality``); its default (``None``) is chosen by
    :func:`~napari_forgetting.transfer.resolve_method`."""
    parser.add_argument(
        "--transfer-method", type=transfer_method, choices=TRANSFER_METHODS, help=help
    )


def add_transfer_checkpoint_argument(parser: Any, help: str) -> None:
    """``--transfer-checkpoint CKPT`` (hidden alias ``--transfer``): a trained transfer model
    (``transfer-train``'s folder or its checkpoint.pt) of ``augment`` and ``compare``."""
    parser.add_argument(
        "--transfer-checkpoint",
        hidden_aliases=HIDDEN_ALIASES["--transfer-checkpoint"],
        metavar="CKPT",
        help=help,
    )


def add_transfer_method_arguments(parser: argparse.ArgumentParser) -> None:
    """``--transfer-method``, ``--transfer-checkpoint`` and ``--force`` of ``augment`` (the
    parser imports no torch)."""
    add_transfer_method_argument(
        parser,
        "learned: a transfer-train checkpoint (--transfer-checkpoint); stratal: the "
        "training-free transfer (default: learned with --transfer-checkpoint, else stratal)",
    )
    add_transfer_checkpoint_argument(
        parser, "a trained transfer model (transfer-train's folder or checkpoint), for learned"
    )
    add_force_argument(parser)


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="go on with a transfer below the quality bar (or one that cannot be measured), "
        "or with style sources of a ranking whose densities are all equal",
    )


def load_data_args(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``(volume, source)`` from the data options (:func:`add_data_arguments`)."""
    from napari_forgetting.data.source import load_data

    if str(args.data) == "synthetic" and getattr(args, "labels", None):
        raise UsageError("--labels does not apply to --data synthetic (its labels are generated)")
    return load_data(args.data, args.labels, args.shape, args.data_seed, args.iline, args.xline)


def add_run_data_arguments(parser: argparse.ArgumentParser, labels: bool = True) -> None:
    """``--data`` / ``--labels`` / ``--data-seed`` / ``--iline`` / ``--xline`` of the commands
    that reopen a run's data (``augment``, ``retrain``, ``export``): needed only for a run
    trained on data held in memory (a napari layer from no file), or data that moved.
    ``labels=False`` where the command has its own ``--labels``."""
    parser.add_argument(
        "--data",
        help="the run's data (labelled SEG-Y/.npy/zarr, or 'synthetic' of the run's shape), "
        "where the run does not record it or it moved",
    )
    if labels:
        parser.add_argument("--labels", help="--data: labels file (default: found beside it)")
    parser.add_argument(
        "--data-seed", type=nonnegative_int, default=0, help="--data synthetic: seed"
    )
    add_header_byte_arguments(parser)


def run_data_args(args: argparse.Namespace, run: Any) -> tuple[Any, dict[str, Any]]:
    """``(volume, source)`` of a run (a :class:`~napari_forgetting.runs.store.RunStore`):
    ``--data`` when given, else what the run records. A run that records no reopenable data
    is a :class:`UsageError` saying which option to give."""
    from napari_forgetting.data.source import DataNotRecorded, open_run_data

    try:
        return open_run_data(
            run.info.get("source") or {},
            args.data,
            args.labels,
            volume_shape=run.volume_shape,
            seed=args.data_seed,
            iline=args.iline,
            xline=args.xline,
        )
    except DataNotRecorded as exc:
        raise UsageError(
            f"{run.path}: {exc}; give --data PATH (and --labels PATH unless the labels lie "
            "beside it) to say where that data is"
        ) from exc
