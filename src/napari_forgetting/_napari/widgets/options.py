"""The docks' fields of a trainer config, derived from the config's own fields.

One definition per option (:mod:`napari_forgetting.training.options`): a dock's field takes
its label, starting value, bounds, choices and tooltip from the config field it sets
(:func:`field_widget`), and its value goes back through the same field's bounds
(:func:`field_values`), so a default or a bound changes in the config only. The docks start
where a field's ``dock`` settings say (a run of minutes, not the paper's hours), else at the
config's default.

A field of type ``bool`` is a check box; one with choices a drop-down (``auto`` first where
``None`` is allowed: the default's meaning); an ``int`` a spin box (``0`` where ``None`` is
allowed); a pair of ``int`` a spin box of a square patch's side; anything else a line edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, LineEdit, SpinBox

from napari_forgetting.training.options import Described, describe, described

__all__ = ["AUTO", "SPIN_MAX", "dock_values", "field_value", "field_values", "field_widgets"]

#: A drop-down's entry for ``None``: the field's default meaning (the best device, ...).
AUTO = "auto"
#: A spin box's top where the field has no upper bound (Qt's largest int).
SPIN_MAX = 2**31 - 1


def field_widget(config: type, name: str) -> Any:
    """A magicgui widget for the field ``name`` of the dataclass ``config``."""
    d = describe(config, name)
    opt, dock = d.option, d.option.dock
    tip, value = opt.help, d.dock_value
    if dock.get("also"):
        tip += f" (sets {', '.join(dock['also'])} too)"
    if d.kind is bool:
        return CheckBox(text=d.label, value=value, tooltip=tip)
    choices = dock.get("choices", opt.choices)
    if choices is not None:
        if d.optional:
            choices, tip = (AUTO, *choices), f"{tip}; {AUTO}: {opt.none}"
            value = AUTO if value is None else value
        return ComboBox(label=d.label, choices=list(choices), value=value, tooltip=tip)
    if int in (d.kind, d.item):
        low = dock.get("min", opt.min)
        if d.kind is tuple:
            value, tip = value[0], f"{tip} (the side of a square patch)"
        if d.optional:
            low, tip = 0, f"{tip}; 0: {opt.none}"
            value = 0 if value is None else value
        top = dock.get("max", opt.max)
        return SpinBox(
            label=d.label,
            value=int(value),
            min=int(low or 0),
            max=int(SPIN_MAX if top is None else top),
            step=int(dock.get("step", 1)),
            tooltip=tip,
        )
    return LineEdit(label=d.label, value="" if value is None else str(value), tooltip=tip)


def field_widgets(config: type, names: Sequence[str]) -> dict[str, Any]:
    """:func:`field_widget` of each field of ``names``, by field name, in order."""
    return {name: field_widget(config, name) for name in names}


def field_value(config: type, name: str, widget: Any) -> Any:
    """The value of the field ``name`` that ``widget`` (:func:`field_widget`) holds,
    checked against the field's bounds and choices (:class:`ValueError` naming its label)."""
    d = describe(config, name)
    value = widget.value
    if d.optional and value in (AUTO, 0, ""):
        return None
    if d.kind is tuple:
        value = (int(value),) * len(d.default)
    elif d.kind in (int, float):
        value = _number(d, value)
    return d.option.check(d.label, value)


def _number(d: Described, value: Any) -> Any:
    try:
        return d.kind(value)
    except ValueError:
        raise ValueError(f"{d.label}: not a number: {value!r}") from None


def field_values(config: type, widgets: Mapping[str, Any]) -> dict[str, Any]:
    """The ``config`` keyword arguments that ``widgets`` (:func:`field_widgets`) hold
    (:func:`field_value`), with the fields each one sets too (the option's ``also`` and
    the dock's)."""
    out = {}
    for name, widget in widgets.items():
        value = field_value(config, name, widget)
        d = describe(config, name)
        for target in (name, *d.option.also, *d.option.dock.get("also", ())):
            out[target] = value
    return out


def dock_values(config: type) -> dict[str, Any]:
    """The values the docks start from where the config's own defaults would take too
    long (each field's ``dock["value"]``), for the fields a dock sets without a widget
    (the Transfer dock's batch size)."""
    return {d.name: d.dock_value for d in described(config) if "value" in d.option.dock}
