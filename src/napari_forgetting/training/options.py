"""One definition per option: a trainer config's field carries what its faces show.

A field of :class:`~.config.TrainConfig` or :class:`~napari_forgetting.transfer.config.
TransferConfig` is declared with :func:`option`: its default, its help, and where the faces
need more, its command-line name, its dock label, its bounds and choices. The command line
(:func:`napari_forgetting.cli.args.add_config_arguments`) and the docks
(:func:`napari_forgetting._napari.widgets.options.field_widget`) derive their options from
these fields (:func:`described`), so a default, a bound or a help text changes in one place.

Plain dataclasses: no argparse, no Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, get_args, get_origin, get_type_hints

__all__ = ["OPTION", "Described", "Option", "described", "describe", "option"]

#: The key of a field's :class:`Option` in its ``dataclasses.field`` metadata.
OPTION = "napari_forgetting.option"


@dataclass(frozen=True)
class Option:
    """What the faces show of a config field.

    ``help``: what it means (the command line's help, the dock's tooltip). ``flag``: the
    command-line option where it is not ``--<field-name>`` (a field whose default is
    ``True`` is a flag that turns it off, e.g. ``--no-stats``). ``label``: the dock's label
    (default: the field name in words). ``min`` / ``max``: inclusive bounds, ``above``: an
    exclusive lower bound (both faces refuse a value outside them). ``choices``: the values
    it takes. ``none``: what the default ``None`` means (shown as the default).
    ``metavar``: the command line's names of a tuple's values. ``also``: other fields that
    the same option sets (one ``--lr`` for both learning rates). ``no_flag``: why the
    command line has no option for it (a field without ``no_flag`` has one). ``dock``: the
    docks' own settings, each with its reason beside it in the config: ``value`` (where the
    docks start: a run of minutes instead of the paper's hours; a dock without a widget for
    the field gives the config this value), ``min``, ``max``, ``step``, ``choices`` (offered
    beside ``auto``, the default ``None``) and ``also`` (fields the dock's widget sets too).
    """

    help: str
    flag: str | None = None
    label: str | None = None
    min: float | None = None
    above: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    none: str | None = None
    metavar: tuple[str, ...] | None = None
    also: tuple[str, ...] = ()
    no_flag: str | None = None
    dock: Mapping[str, Any] = field(default_factory=dict)

    def check(self, name: str, value: Any) -> Any:
        """``value`` when inside the bounds and choices, else :class:`ValueError` naming
        ``name`` (``None`` passes: the field's default meaning)."""
        if value is None:
            return value
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{name} must be one of {self.choices}, got {value!r}")
        for v in value if isinstance(value, tuple) else (value,):
            if self.min is not None and v < self.min:
                raise ValueError(f"{name} must be >= {self.min}, got {value}")
            if self.above is not None and not v > self.above:
                raise ValueError(f"{name} must be > {self.above}, got {value}")
            if self.max is not None and v > self.max:
                raise ValueError(f"{name} must be <= {self.max}, got {value}")
        return value


def option(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field of ``default`` described by :class:`Option` (``help``, ``**kw``)."""
    return field(default=default, metadata={OPTION: Option(help, **kw)})


@dataclass(frozen=True)
class Described:
    """A config field as the faces see it: ``name``, ``default``, ``kind`` (``bool``,
    ``int``, ``float``, ``str`` or ``tuple`` -- of ``item``), ``optional`` (``None`` is
    allowed) and its :class:`Option`."""

    name: str
    default: Any
    kind: type
    item: type | None
    optional: bool
    option: Option

    @property
    def flag(self) -> str:
        """Its command-line option: ``Option.flag``, else ``--<field-name>``."""
        return self.option.flag or "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        """Its dock label: ``Option.label``, else the field name in words."""
        return self.option.label or self.name.replace("_", " ")

    @property
    def dock_value(self) -> Any:
        """Where the docks start: ``Option.dock["value"]``, else the default."""
        return self.option.dock.get("value", self.default)


def _kind(hint: Any) -> tuple[type, type | None, bool]:
    """``(kind, item, optional)`` of a field's type hint (``int | None``, ``tuple[int,
    int]``, ``tuple[int, ...] | None``, ...)."""
    args = get_args(hint)
    optional = type(None) in args
    if optional:
        (hint,) = [a for a in args if a is not type(None)]
    if get_origin(hint) is tuple:
        return tuple, get_args(hint)[0], optional
    return hint, None, optional


def described(config: type) -> list[Described]:
    """Every field of the dataclass ``config``, in order; a field declared without
    :func:`option` is a :class:`TypeError` (each field says what it means)."""
    hints = get_type_hints(config)
    out = []
    for f in fields(config):
        opt = f.metadata.get(OPTION)
        if opt is None:
            raise TypeError(f"{config.__name__}.{f.name} is declared without option()")
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        kind, item, optional = _kind(hints[f.name])
        out.append(Described(f.name, default, kind, item, optional, opt))
    return out


def describe(config: type, name: str) -> Described:
    """The one field ``name`` of ``config`` (:func:`described`)."""
    for d in described(config):
        if d.name == name:
            return d
    raise KeyError(f"{config.__name__} has no field {name!r}")
