"""One definition per option: the trainers' command-line options are their config fields'.

Every field of ``TrainConfig`` and ``TransferConfig`` has an option (or says why not), each
option's default is its field's, and a default changed in the config shows in ``--help`` and
in the parsed value. Parsing only: nothing trains. The docks' fields:
tests/napari/test_widgets_options.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

from napari_forgetting.cli import build_parser
from napari_forgetting.cli.args import (
    HIDDEN_ALIASES,
    OneLineParser,
    add_config_arguments,
    config_dest,
    config_values,
    offered,
)
from napari_forgetting.training.config import TrainConfig
from napari_forgetting.training.options import OPTION, described
from napari_forgetting.transfer.config import TransferConfig

#: Each config and the command whose options are all of its offered fields.
FACES = [(TrainConfig, "train"), (TransferConfig, "transfer-train")]
#: The commands whose option has no value unless given, by design, and what --help says.
GIVEN_ONLY = {
    ("transfer-train", "epochs"): "(default: 20)",  # --resume keeps the checkpoint's
    ("transfer-train", "n_classes"): "(default: the data's)",
    ("retrain", "epochs"): "(default: the parent's)",
    ("retrain", "seed"): "(default: the parent's)",
    ("retrain", "device"): "(default: the parent's)",
    ("retrain", "num_threads"): "(default: the parent's)",
}
#: Option defaults that differ from their field's, by design (a per-job thread).
OTHER_DEFAULTS = {("compare", "num_threads"): 1, ("consensus", "num_threads"): 1}
#: The commands that take options of TrainConfig fields beside ``train``.
TRAIN_FIELD_COMMANDS = ("compare", "consensus", "retrain")


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _plain(value: object) -> object:
    """A sequence as a list (a tuple default parses to a list)."""
    return list(value) if isinstance(value, (list, tuple)) else value


def _line(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    return re.sub(r"\s+", " ", parser._get_formatter()._format_action(action))


def _option_default(command: str, parser: argparse.ArgumentParser, dest: str) -> object:
    """What applies when the option is not given: a compare preset's options default to
    None in the parser, their own default is in ``compare_defaults``."""
    preset = parser.get_default("compare_defaults")
    if preset and preset.get(dest) is not None:
        return preset[dest]
    return parser.get_default(dest)


@pytest.mark.parametrize(("config", "command"), FACES, ids=[c for _, c in FACES])
def test_every_config_field_has_an_option_or_says_why_not(config, command):
    parser = _commands()[command]
    by_option = {name for d in described(config) for name in d.option.also}
    missing, unexplained = [], []
    for d in described(config):
        if d.option.no_flag is not None:
            if not d.option.no_flag.strip():
                unexplained.append(d.name)
            assert d.flag not in parser._option_string_actions, (d.name, "has no_flag")
        elif d.name not in by_option and d.flag not in parser._option_string_actions:
            missing.append((d.name, d.flag))
    assert not missing, f"{command}: fields without an option (give one or no_flag=why): {missing}"
    assert not unexplained, unexplained


@pytest.mark.parametrize(("config", "command"), FACES, ids=[c for _, c in FACES])
def test_every_option_s_default_is_its_field_s(config, command):
    parser = _commands()[command]
    for d in offered(config):
        action = parser._option_string_actions[d.flag]
        default = _option_default(command, parser, action.dest)
        if (command, d.name) in GIVEN_ONLY:
            assert default is None, (d.name, default)
            assert GIVEN_ONLY[command, d.name] in _line(parser, action)
        elif d.kind is bool:  # a flag: given, it sets the field (or clears a True default)
            assert default is False and action.const is True, d.name
        else:
            assert _plain(default) == _plain(d.default), (command, d.flag, default, d.default)


@pytest.mark.parametrize("command", TRAIN_FIELD_COMMANDS)
def test_the_other_commands_training_options_are_the_fields_too(command):
    """compare, consensus and retrain: the same flag, type and default as ``train``'s."""
    commands = _commands()
    parser, train = commands[command], commands["train"]
    seen = 0
    for d in offered(TrainConfig):
        if d.flag not in parser._option_string_actions:
            continue
        seen += 1
        action, same = parser._option_string_actions[d.flag], train._option_string_actions[d.flag]
        kind = getattr(action.type, "__name__", None), action.choices, action.nargs
        assert kind == (getattr(same.type, "__name__", None), same.choices, same.nargs), d.flag
        default = _option_default(command, parser, action.dest)
        if (command, d.name) in GIVEN_ONLY:
            assert default is None and GIVEN_ONLY[command, d.name] in _line(parser, action)
        elif (command, d.name) in OTHER_DEFAULTS:
            assert default == OTHER_DEFAULTS[command, d.name]
        elif d.kind is not bool:
            assert _plain(default) == _plain(d.default), (command, d.flag, default, d.default)
    assert seen >= 4


@pytest.mark.parametrize(("config", "command"), FACES, ids=[c for _, c in FACES])
def test_an_option_that_sets_two_fields_is_one_and_their_defaults_agree(config, command):
    """``--lr`` sets both learning rates, ``--ngf`` both widths: defined once, on the
    first field (``also``), and the other field has the same default."""
    fields = {d.name: d for d in described(config)}
    parser = _commands()[command]
    for d in fields.values():
        for other in d.option.also:
            assert fields[other].default == d.default, (d.name, other)
            assert fields[other].flag not in parser._option_string_actions, other
    if config is TransferConfig:
        ns = parser.parse_args(["--data", "synthetic", "--out", "o", "--lr", "0.002", "--ngf", "4"])
        values = config_values(ns, config)
        pairs = values["lr_g"], values["lr_d"], values["ngf"], values["ndf"]
        assert pairs == (0.002, 0.002, 4, 4)


@pytest.mark.parametrize(("config", "command"), FACES, ids=[c for _, c in FACES])
def test_the_options_not_given_make_the_default_config(config, command):
    ns = _commands()[command].parse_args(["--data", "synthetic", "--out", "o"])
    values = config_values(ns, config)
    default = {f.name: getattr(config(), f.name) for f in dataclasses.fields(config)}
    assert {k: v for k, v in values.items() if default[k] != v} == {}
    assert config(**values) == config()


def test_the_alias_and_bounds_of_a_derived_option_hold():
    train = _commands()["train"]
    for flag, aliases in HIDDEN_ALIASES.items():
        if flag in train._option_string_actions and flag != "--data-seed":
            assert set(aliases) <= set(train._option_string_actions), flag
    ns = build_parser().parse_args(["train", "--data", "synthetic", "--out", "o", "--no-stats"])
    assert config_values(ns, TrainConfig)["track_stats"] is False


def test_a_default_changed_in_the_config_shows_in_help_and_in_the_value(
    monkeypatch, config_variant
):
    """The config is the one place: a new default is what --help says and what parses."""
    import napari_forgetting.training.config as train_config
    import napari_forgetting.transfer.config as transfer_config

    variant = config_variant(TrainConfig, lr=0.0042, every=7, patch_size=(96, 80))
    monkeypatch.setattr(train_config, "TrainConfig", variant)
    monkeypatch.setattr(
        transfer_config, "TransferConfig", config_variant(TransferConfig, batch_size=5, lr_g=3e-4)
    )
    commands = _commands()
    train = commands["train"]
    assert "learning rate (default: 0.0042)" in _line(train, train._option_string_actions["--lr"])
    assert "(default: 7)" in _line(train, train._option_string_actions["--every"])
    assert "(default: (96, 80))" in _line(train, train._option_string_actions["--patch-size"])
    ns = train.parse_args(["--data", "synthetic", "--out", "o"])
    values = config_values(ns, variant)
    assert (values["lr"], values["every"], values["patch_size"]) == (0.0042, 7, (96, 80))
    compare = commands["compare"]  # a preset's options show the default that applies without
    assert "(default: 0.0042, or the --preset's)" in _line(
        compare, compare._option_string_actions["--lr"]
    )
    tt = commands["transfer-train"]
    assert "(default: 5)" in _line(tt, tt._option_string_actions["--batch-size"])
    assert "(default: 0.0003)" in _line(tt, tt._option_string_actions["--lr"])


def _another(d) -> object:
    """A default other than the field's, inside its bounds and choices."""
    if d.option.choices is not None:
        return next(c for c in reversed(d.option.choices) if c != d.default)
    if d.default is None:
        return "cpu" if d.kind is str else 7
    if d.kind is tuple:
        return tuple(v + 8 for v in d.default)
    return d.default * 2 if d.kind is float else d.default + 3


@pytest.mark.parametrize(("config", "command"), FACES, ids=[c for _, c in FACES])
def test_every_option_follows_its_field_s_default(monkeypatch, config_variant, config, command):
    """Each offered field's default, changed in the config alone, is the option's."""
    import napari_forgetting.training.config as train_config
    import napari_forgetting.transfer.config as transfer_config

    fields = [d for d in offered(config) if d.kind is not bool]
    changed = {d.name: _another(d) for d in fields}
    module = train_config if config is TrainConfig else transfer_config
    monkeypatch.setattr(module, config.__name__, config_variant(config, **changed))
    parser = _commands()[command]
    for d in fields:
        action = parser._option_string_actions[d.flag]
        if (command, d.name) in GIVEN_ONLY:
            if d.name == "epochs":  # the help shows the field's default
                assert f"(default: {changed[d.name]})" in _line(parser, action)
            continue
        assert _plain(parser.get_default(action.dest)) == _plain(changed[d.name]), d.flag


def test_the_helper_derives_type_bounds_and_choices_from_the_field():
    parser = OneLineParser(prog="napari-forgetting t")
    add_config_arguments(parser, TrainConfig, ["every", "mode", "lr", "output_stride"])
    argv = ["--every", "2", "--mode", "online", "--lr", "0.5", "--output-stride", "8"]
    ns = parser.parse_args(argv)
    assert (ns.every, ns.mode, ns.lr, ns.output_stride) == (2, "online", 0.5, 8)
    from napari_forgetting.cli.args import UsageError

    for argv, word in ((["--every", "1"], ">= 2"), (["--lr", "0"], "> 0"), (["--mode", "x"], "x")):
        with pytest.raises(UsageError, match=re.escape(word)):
            parser.parse_args(argv)
    assert config_dest(next(d for d in described(TrainConfig) if d.name == "num_threads")) == (
        "threads"
    )


def test_a_field_without_its_description_is_refused():
    @dataclasses.dataclass
    class Bare:
        epochs: int = 3

    with pytest.raises(TypeError, match="Bare.epochs"):
        described(Bare)
    assert all(OPTION in f.metadata for f in dataclasses.fields(TrainConfig))
