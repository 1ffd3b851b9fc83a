"""One name per concept across the subcommands: the canonical spelling in ``--help``, the old
spellings kept as hidden aliases that parse to the same value, the choices of every option of
fixed values listed in ``--help``. Parsing only: nothing runs."""

from __future__ import annotations

import argparse
import re

import pytest

from napari_forgetting.cli import build_parser, main
from napari_forgetting.cli.args import HIDDEN_ALIASES

#: The least each subcommand needs to parse (its required arguments).
REQUIRED = {
    "train": ["--data", "synthetic", "--out", "o"],
    "transfer-train": ["--data", "synthetic", "--out", "o"],
    "transfer-quality": ["--data", "synthetic"],
    "transfer-figure": ["--data", "synthetic", "--out", "f.png"],
    "augment": ["run", "--out", "o"],
    "retrain": ["run", "--pool", "p", "--out", "o"],
    "export": ["src", "--out", "o", "--name", "n"],
    "compare": ["--out", "o"],
    "consensus": ["--out", "o"],
    "synthetic": ["--out", "o"],
    "movie": ["run", "--out", "m.mp4"],
    "rank": ["run"],
    "stability": ["run"],
    "info": ["x.npy"],
    "view": ["report"],
    "demo": [],
}

# (concept, canonical name, hidden aliases, destination, value given, value parsed,
#  the subcommands that have it, those of them that accept the aliases)
NAMES = [
    ("training patch size", "--patch-size", ("--patch",), "patch_size", ["32", "48"], [32, 48],
     ("train", "transfer-train", "compare", "consensus"), None),
    ("torch CPU threads", "--threads", ("--num-threads",), "threads", ["1"], 1,
     ("train", "transfer-train", "retrain", "compare", "consensus"), None),
    ("no progress bar", "--quiet", ("--no-progress",), "quiet", [], True,
     ("train", "transfer-train", "augment", "retrain"), None),
    ("a trained transfer model", "--transfer-checkpoint", ("--transfer",),
     "transfer_checkpoint", ["ck.pt"], "ck.pt", ("augment", "compare"), None),
    ("seed of the synthetic data", "--data-seed", ("--seed",), "data_seed", ["7"], 7,
     ("train", "transfer-train", "transfer-quality", "transfer-figure", "augment", "retrain",
      "export", "compare", "consensus", "movie", "synthetic"), ("synthetic",)),
    ("transfer method", "--transfer-method", (), "transfer_method", ["stratal"], "stratal",
     ("augment", "compare", "transfer-quality"), None),
    ("validation sections: every N-th", "--every", (), "every", ["3"], 3,
     ("train", "compare", "consensus", "transfer-quality", "transfer-figure"), None),
    ("test sections tracked: every N-th", "--test-every", (), "test_every", ["3"], 3,
     ("train",), None),
    ("training epochs", "--epochs", (), "epochs", ["3"], 3,
     ("train", "transfer-train", "retrain", "compare", "consensus", "demo"), None),
    ("the epoch read", "--epoch", (), "epoch", ["2"], 2, ("rank", "stability", "export"), None),
    ("the command's own seed", "--seed", (), "seed", ["3"], 3,
     ("train", "transfer-train", "transfer-quality", "augment", "retrain", "view"), None),
    ("number of seeds", "--seeds", (), "seeds", ["3"], 3, ("compare", "consensus"), None),
    ("class", "--class", (), "cls", ["salt"], "salt",
     ("transfer-quality", "transfer-figure", "rank", "stability", "augment", "compare",
      "consensus"), None),
    ("fewest class pixels of a section", "--min-pixels", (), "min_pixels", ["9"], 9,
     ("transfer-quality", "transfer-figure", "rank", "stability", "augment", "compare",
      "consensus"), None),
    ("output", "--out", (), "out", ["elsewhere"], "elsewhere",
     ("train", "transfer-train", "transfer-figure", "augment", "retrain", "export", "compare",
      "consensus", "synthetic", "movie"), None),
    ("device", "--device", (), "device", ["cpu"], "cpu",
     ("train", "transfer-train", "retrain", "compare", "consensus"), None),
]
IDS = [row[0] for row in NAMES]


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


COMMANDS = _commands()


def _help(command: str) -> str:
    return COMMANDS[command].format_help()


def _names(text: str) -> set[str]:
    """The option strings a help text shows (``--patch`` is not read in ``--patch-size``)."""
    return set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", text))


def _parse(command: str, *extra: str) -> argparse.Namespace:
    return build_parser().parse_args([command, *REQUIRED[command], *extra])


def _has(command: str, option: str) -> bool:
    return option in COMMANDS[command]._option_string_actions


def test_every_subcommand_is_covered():
    assert set(REQUIRED) == set(COMMANDS)
    for command in COMMANDS:
        _parse(command)  # the required arguments are enough


@pytest.mark.parametrize(
    ("concept", "canonical", "aliases", "dest", "given", "value", "commands", "alias_in"),
    NAMES,
    ids=IDS,
)
def test_the_canonical_name_is_shown_and_the_aliases_parse_hidden(
    concept, canonical, aliases, dest, given, value, commands, alias_in
):
    for command in COMMANDS:
        if command not in commands and _has(command, canonical):
            action = COMMANDS[command]._option_string_actions[canonical]
            assert action.help == argparse.SUPPRESS, (concept, command, canonical)  # an alias
    for command in commands:
        shown = _names(_help(command))
        assert canonical in shown, (concept, command)
        assert _parse(command, canonical, *given).__dict__[dest] == value, (concept, command)
        for alias in aliases:
            if alias_in is not None and command not in alias_in:
                continue  # there the alias is another option (--seed: the command's seed)
            assert alias not in shown, (concept, command, alias)
            assert alias not in _names(COMMANDS[command].format_usage())
            got = _parse(command, alias, *given)
            assert getattr(got, dest) == value, (concept, command, alias)
            # and neither given: the same default as before the alias existed
            assert getattr(_parse(command), dest) == COMMANDS[command].get_default(dest)


def test_the_alias_table_is_the_one_the_parser_uses():
    table = {row[1]: row[2] for row in NAMES if row[2]}
    assert table == HIDDEN_ALIASES


def test_no_two_subcommands_spell_one_concept_differently():
    """Across all subcommands each destination has one shown spelling, each shown spelling
    one destination, and a hidden alias is never shown."""
    spellings: dict[str, set[tuple[str, ...]]] = {}
    dests: dict[str, set[str]] = {}
    for name, command in COMMANDS.items():
        for action in command._actions:
            if not action.option_strings or action.dest == "help":
                continue
            if action.help == argparse.SUPPRESS:
                assert set(action.option_strings) <= {a for v in HIDDEN_ALIASES.values()
                                                      for a in v}, (name, action.option_strings)
                continue
            spellings.setdefault(action.dest, set()).add(tuple(action.option_strings))
            for option in action.option_strings:
                dests.setdefault(option, set()).add(action.dest)
    assert {d: s for d, s in spellings.items() if len(s) > 1} == {}
    assert {o: d for o, d in dests.items() if len(d) > 1} == {}
    for canonical, aliases in HIDDEN_ALIASES.items():
        for alias in aliases:
            if alias == "--seed":
                continue  # shown elsewhere as the command's own seed, a concept of its own
            assert alias not in dests, (canonical, alias)


def test_the_old_spellings_of_training_runs_still_parse():
    ns = _parse("train", "--patch", "16", "16", "--num-threads", "1", "--no-progress")
    assert (ns.patch_size, ns.threads, ns.quiet) == ([16, 16], 1, True)
    assert _parse("train").patch_size == (128, 128)
    assert _parse("transfer-train").patch_size == (64, 64)
    ns = _parse("compare", "--patch", "16", "16", "--transfer", "ck", "--num-threads", "1")
    assert (ns.patch_size, ns.transfer_checkpoint, ns.threads) == ([16, 16], "ck", 1)
    # a preset's values still give way only to the options given
    ns = _parse("compare")
    assert ns.patch_size is None and ns.threads is None
    assert ns.compare_defaults["patch_size"] == (128, 128) and ns.compare_defaults["threads"] == 1
    assert _parse("synthetic", "--seed", "3").data_seed == 3
    assert _parse("augment", "--transfer", "ck").transfer_checkpoint == "ck"


def test_an_alias_s_bad_value_is_refused_under_its_own_name(capsys):
    assert main(["train", "--data", "synthetic", "--out", "o", "--patch", "0", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "argument --patch: must be >= 1" in err[0], err


def test_every_option_of_fixed_values_lists_them_in_help():
    checked = set()
    for name, command in COMMANDS.items():
        formatter = command._get_formatter()
        for action in command._actions:
            if not action.option_strings or not action.choices or action.help == argparse.SUPPRESS:
                continue
            line = formatter._format_action(action)
            for choice in action.choices:
                assert str(choice) in line, (name, action.dest, choice, line)
            checked.add((name, action.option_strings[0]))
    for name in ("augment", "compare", "transfer-quality"):
        assert (name, "--transfer-method") in checked
        assert "--transfer-method {learned,stratal}" in _help(name)
    assert "{" + ",".join(cmp_methods()) + "}" in re.sub(r"\s+", "", _help("compare"))
    assert {("train", "--mode"), ("train", "--never-learned"), ("train", "--output-stride"),
            ("rank", "--stat"), ("stability", "--stat"), ("export", "--what"),
            ("synthetic", "--layout"), ("demo", "--view"), ("compare", "--preset"),
            ("consensus", "--preset")} <= checked  # fmt: skip


def test_the_transfer_methods_are_the_core_s():
    from napari_forgetting.cli.args import TRANSFER_METHODS
    from napari_forgetting.transfer.apply import TRANSFER_METHODS as CORE
    from napari_forgetting.workflow.compare import METHODS

    assert TRANSFER_METHODS == CORE
    assert COMMANDS["compare"].get_default("compare_defaults")["methods"] == ",".join(METHODS)


@pytest.mark.parametrize("command", ["augment", "compare", "transfer-quality"])
def test_an_unknown_transfer_method_is_one_line_naming_the_choices(capsys, command):
    assert main([command, *REQUIRED[command], "--transfer-method", "sean"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "unknown transfer method 'sean'; choose learned or stratal" in err[0]


@pytest.mark.parametrize("command", ["compare", "consensus"])
def test_options_a_preset_may_set_show_their_default(command):
    """Their parser default is None (a preset's value gives way only to an option given):
    ``--help`` says the default that applies without a preset."""
    parser = COMMANDS[command]
    formatter = parser._get_formatter()
    for option, default in (("--epochs", "60"), ("--batch-size", "16"), ("--every", "5"),
                            ("--patch-size", "(128, 128)"), ("--threads", "1"),
                            ("--data-seed", "0"), ("--class", "scruff")):  # fmt: skip
        line = formatter._format_action(parser._option_string_actions[option])
        line = re.sub(r"\s+", " ", line)
        assert f"(default: {default}, or the --preset's)" in line, (option, line)


def cmp_methods() -> tuple[str, ...]:
    from napari_forgetting.workflow.compare import METHODS

    return METHODS
