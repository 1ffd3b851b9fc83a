"""One definition per option: the docks' training fields are the config fields'.

Each field of the Live training and Transfer docks starts at its config field's default (or
at the dock start value the field declares), shows the field's label, bounds, choices and
help, and reads back through the field's checks; a default changed in the config shows in a
new dock. (The command line's options: tests/cli/test_cli_options.py.)
"""

from __future__ import annotations

import dataclasses

import pytest

from napari_forgetting._napari.widgets.options import (
    AUTO,
    SPIN_MAX,
    dock_values,
    field_value,
    field_widget,
)
from napari_forgetting.training.config import TrainConfig
from napari_forgetting.training.options import describe, described
from napari_forgetting.transfer.config import TransferConfig


def _shown(d) -> object:
    """What a field's widget shows for its dock start value."""
    value = d.dock_value
    if d.kind is tuple:
        return value[0]  # a square patch's side
    if value is None:
        return AUTO if "choices" in d.option.dock or d.option.choices else 0
    return str(value) if d.kind is float else value


def _docks(viewer):
    from napari_forgetting._napari.widgets.training import TRAINING_FIELDS, TrainingWidget
    from napari_forgetting._napari.widgets.transfer import TRANSFER_FIELDS, TransferWidget

    return [
        (TrainConfig, TrainingWidget(viewer), TRAINING_FIELDS),
        (TransferConfig, TransferWidget(viewer), TRANSFER_FIELDS),
    ]


def test_the_docks_fields_start_at_the_config_defaults(make_napari_viewer):
    """Value, label, tooltip, bounds and choices of each field: the config field's; a start
    value other than the config default only where the field declares it (``dock``)."""
    for config, dock, names in _docks(make_napari_viewer()):
        assert list(dock.config_fields) == list(names)
        for name, widget in dock.config_fields.items():
            d = describe(config, name)
            assert widget.value == _shown(d), (config.__name__, name, widget.value)
            assert field_value(config, name, widget) == d.dock_value, name
            if "value" not in d.option.dock:  # the config's own default
                assert field_value(config, name, widget) == d.default, name
            assert widget.label == d.label and d.option.help in widget.tooltip, name
            if hasattr(widget, "min"):
                low = 0 if d.optional else d.option.dock.get("min", d.option.min)
                top = d.option.max if d.option.max is not None else SPIN_MAX
                assert (widget.min, widget.max) == (low, top), name
            if hasattr(widget, "choices") and d.option.choices:
                assert tuple(widget.choices) == d.option.choices, name


def test_a_dock_s_config_is_the_default_config_but_what_it_declares(make_napari_viewer):
    """The config a dock starts gives each field the config's default, except the dock start
    values its fields declare and what the dock sets from its context (classes, threads, the
    device, the extra maps)."""
    from napari_forgetting.model.device import select_device

    (train, train_dock, _), (transfer, transfer_dock, _) = _docks(make_napari_viewer())
    context = {"n_classes", "num_threads", "device", "track_stats"}
    for config, got in ((train, train_dock._config()), (transfer, transfer_dock._config(6))):
        wanted = {**{d.name: d.default for d in described(config)}, **dock_values(config)}
        if config is TransferConfig:  # the dock's one width knob sets every width
            wanted.update(ndf=8, style_dim=8, encoder_width=8)
        differ = {
            f.name: getattr(got, f.name)
            for f in dataclasses.fields(config)
            if f.name not in context and getattr(got, f.name) != wanted[f.name]
        }
        assert differ == {}, config.__name__
    assert (transfer_dock._config(6).batch_size, transfer_dock._config(6).eval_sections) == (4, 1)
    assert transfer_dock._config(6).device == str(select_device(None))


def test_a_default_changed_in_the_config_shows_in_a_new_dock(
    make_napari_viewer, monkeypatch, config_variant
):
    import napari_forgetting._napari.widgets.training as training_dock
    import napari_forgetting._napari.widgets.transfer as transfer_dock

    variant = config_variant(TrainConfig, {"epochs": 12}, lr=0.0042, every=7, mode="online")
    monkeypatch.setattr(training_dock, "TrainConfig", variant)
    transfer_variant = config_variant(TransferConfig, {"batch_size": 3, "ngf": 6})
    monkeypatch.setattr(transfer_dock, "TransferConfig", transfer_variant)
    (_, train, _), (_, transfer, _) = _docks(make_napari_viewer())
    shown = train.lr.value, train.every.value, train.mode.value, train.epochs.value
    assert shown == ("0.0042", 7, "online", 12)
    config = train._config()
    assert (config.lr, config.every, config.mode, config.epochs) == (0.0042, 7, "online", 12)
    assert transfer.ngf.value == 6 and transfer._config(6).batch_size == 3


def test_a_value_outside_the_field_s_bounds_is_refused_naming_the_field(qtbot):
    lr = field_widget(TrainConfig, "lr")
    for text, words in (("-1", "learning rate must be > 0"), ("abc", "learning rate: not a")):
        lr.value = text
        with pytest.raises(ValueError, match=words):
            field_value(TrainConfig, "lr", lr)
    patches = field_widget(TrainConfig, "patches_per_epoch")
    patches.value = 0  # the field's None: as many as cover the training pixels once
    assert field_value(TrainConfig, "patches_per_epoch", patches) is None
    assert "0: as many as cover the training pixels once" in patches.tooltip
    device = field_widget(TrainConfig, "device")
    assert list(device.choices) == [AUTO, "cpu", "cuda", "mps"] and device.value == AUTO
