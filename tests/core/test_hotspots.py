"""Forgetting hotspots: ranking the hand-made run of ``hotspot_run.py`` by the definition,
selection, CSV."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hotspot_run import CLASSES, EVENTS, LABELS, make_run
from napari_forgetting.data.classes import resolve_class
from napari_forgetting.dynamics.ranking import pixel_values, rank_scores, section_scores
from napari_forgetting.runs.hotspots import (
    ClassAbsentError,
    Ranking,
    load_style_sources,
    rank_run,
    save_style_sources,
    section_highlight,
)
from napari_forgetting.runs.store import RunStore

# The definition, by hand: events on class-b pixels / class-b pixels
B_DENSITY = {"crossline:301": 8 / 8, "inline:100": 4 / 5, "crossline:303": 3 / 6}
TOTAL_DENSITY = {
    "crossline:301": 8 / 12,
    "inline:100": 8 / 15,
    "inline:102": 5 / 15,
    "crossline:303": 3 / 12,
}


def as_dict(ranking: Ranking) -> dict[str, float]:
    return {row.key: row.value for row in ranking}


# ---------------------------------------------------------------------------- core


def test_ranking_equals_the_definition_and_leaves_absent_sections_out(hotspot_run):
    ranking = rank_run(hotspot_run, "b")
    assert [row.key for row in ranking] == ["crossline:301", "inline:100", "crossline:303"]
    assert as_dict(ranking) == pytest.approx(B_DENSITY)
    assert [row.rank for row in ranking] == [1, 2, 3]
    assert [(row.pixels, row.events) for row in ranking] == [(8, 8), (5, 4), (6, 3)]
    assert [(row.kind, row.number, row.index) for row in ranking][1] == ("inline", 100, 0)
    assert ranking[1].label == "inline 100"
    assert (ranking.class_id, ranking.class_name, ranking.epoch) == (1, "b", 1)
    assert ranking.n_sections == 4 and ranking.statistic == "forgetting"


def test_class_by_name_or_id(hotspot_run):
    by_name = rank_run(hotspot_run, "b")
    assert rank_run(hotspot_run, 1) == by_name
    assert rank_run(hotspot_run, "1") == by_name
    assert rank_run(hotspot_run, "B") == by_name
    assert resolve_class(CLASSES, "c") == 2
    with pytest.raises(ValueError, match="unknown class 'x'; classes: 0 a, 1 b, 2 c"):
        rank_run(hotspot_run, "x")
    with pytest.raises(ValueError, match="class id 7 out of range"):
        rank_run(hotspot_run, 7)


def test_class_absent_everywhere_is_a_clear_error(hotspot_run):
    with pytest.raises(ClassAbsentError, match=r"class 'c' \(id 2\) is absent from all 4") as e:
        rank_run(hotspot_run, "c")
    assert str(hotspot_run.path) in str(e.value)


def test_class_a_ranking_ties_keep_section_order(hotspot_run):
    ranking = rank_run(hotspot_run, "a")
    assert [row.key for row in ranking] == [
        "inline:100",
        "inline:102",
        "crossline:301",
        "crossline:303",
    ]
    assert [row.value for row in ranking] == pytest.approx([4 / 10, 5 / 15, 0, 0])


def test_other_statistics(hotspot_run):
    never = rank_run(hotspot_run, "b", "never_learned")
    assert as_dict(never) == pytest.approx(
        {"crossline:301": 2 / 8, "inline:100": 1 / 5, "crossline:303": 0.0}
    )
    assert list(as_dict(never)) == ["crossline:301", "inline:100", "crossline:303"]
    low = rank_run(hotspot_run, "b", "low_confidence")
    assert list(as_dict(low)) == ["inline:100", "crossline:301", "crossline:303"]
    assert as_dict(low) == pytest.approx(
        {"inline:100": 0.4, "crossline:301": 0.25, "crossline:303": 0.05}, abs=1e-6
    )
    var = rank_run(hotspot_run, "b", "high_variability")
    assert list(as_dict(var)) == ["crossline:301", "crossline:303", "inline:100"]
    assert as_dict(var) == pytest.approx(
        {"crossline:301": 0.3, "crossline:303": 0.2, "inline:100": 0.1}, abs=1e-6
    )
    # the events column is always the forgetting events on the class pixels
    assert [row.events for row in var] == [8, 3, 4]


def test_total_forgetting_ignores_the_class(hotspot_run):
    total = rank_run(hotspot_run, None, "total")
    assert list(as_dict(total)) == list(TOTAL_DENSITY)
    assert as_dict(total) == pytest.approx(TOTAL_DENSITY)
    assert total.class_id is None and [row.pixels for row in total] == [12, 15, 15, 12]
    assert rank_run(hotspot_run, "c", "total") == total  # class ignored, even an absent one


def test_epoch_argument_and_errors(hotspot_run, tmp_path):
    first = rank_run(hotspot_run, "b", epoch=0)
    assert first.epoch == 0 and all(row.value == 0 for row in first)
    assert [row.key for row in first] == ["inline:100", "crossline:301", "crossline:303"]
    assert rank_run(hotspot_run, "b", epoch=-1) == rank_run(hotspot_run, "b")
    with pytest.raises(ValueError, match="not complete"):
        rank_run(hotspot_run, "b", epoch=2)
    with pytest.raises(ValueError, match="unknown statistic 'worst'"):
        rank_run(hotspot_run, "b", "worst")
    with pytest.raises(ValueError, match="ranks a class"):
        rank_run(hotspot_run, None)
    no_stats = make_run(tmp_path / "nostats", stats=False)
    with pytest.raises(ValueError, match="confidence.*--no-stats"):
        rank_run(no_stats, "b", "low_confidence")
    empty = make_run(tmp_path / "empty", epochs_done=0)
    with pytest.raises(ValueError, match="no complete epoch yet"):
        rank_run(empty, "b")


def test_pure_section_scores_match_class_density():
    from napari_forgetting.dynamics import class_density

    values = [pixel_values("forgetting", events=e) for e in EVENTS]
    scores, pixels, events = section_scores(values, LABELS, 1)
    expected = [class_density(e, lab, 1) for e, lab in zip(EVENTS, LABELS, strict=True)]
    np.testing.assert_array_equal(np.isnan(scores), np.isnan(expected))
    np.testing.assert_allclose(scores[~np.isnan(scores)], np.array(expected)[~np.isnan(scores)])
    assert pixels.tolist() == [5, 0, 8, 6] and events.tolist() == [4, 0, 8, 3]
    assert rank_scores(scores).tolist() == [2, 0, 3]
    assert rank_scores(scores, top=2).tolist() == [2, 0]


def test_section_highlight_is_nan_off_the_class(hotspot_run):
    values = section_highlight(hotspot_run, "inline:100", "forgetting", 1)
    assert values.shape == (3, 5) and values.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(values), LABELS[0] != 1)
    assert np.nansum(values) == 4
    total = section_highlight(hotspot_run, 2, "total")
    np.testing.assert_array_equal(total, EVENTS[2])


def test_csv_round_trip(hotspot_run, tmp_path):
    ranking = rank_run(hotspot_run, "b")
    path = ranking.to_csv(tmp_path / "b.csv")
    back = Ranking.from_csv(path)
    assert back.rows == ranking.rows
    assert (back.statistic, back.class_id, back.class_name, back.epoch) == ("forgetting", 1, "b", 1)
    header = path.read_text().splitlines()[0]
    assert header.startswith("rank,section,kind,number,index,value,pixels,events")
    assert not list(tmp_path.glob(".b.csv.*"))  # atomic write leaves no temporary file
    total = rank_run(hotspot_run, None, "total")
    assert Ranking.from_csv(total.to_csv(tmp_path / "t.csv")).rows == total.rows


def test_top_n_selection_is_kept_with_the_run(hotspot_run):
    assert load_style_sources(hotspot_run) is None
    ranking = rank_run(hotspot_run, "b")
    sources = save_style_sources(hotspot_run, ranking, top=2)
    assert sources.sections == ("crossline:301", "inline:100")
    assert hotspot_run.info["style_sources"]["sections"] == ["crossline:301", "inline:100"]
    stored = json.loads((hotspot_run.path / "run.json").read_text())["style_sources"]
    assert {k: stored[k] for k in ("class", "class_id", "statistic", "epoch")} == {
        "class": "b",
        "class_id": 1,
        "statistic": "forgetting",
        "epoch": 1,
    }
    assert load_style_sources(hotspot_run.path) == sources
    assert RunStore.open(hotspot_run.path).info["style_sources"]["sections"] == list(
        sources.sections
    )
    # the default top-6 takes every ranked section here; a newer selection replaces it
    assert save_style_sources(hotspot_run, ranking).sections == tuple(ranking.keys())
    with pytest.raises(ValueError, match="irrespective of class"):
        save_style_sources(hotspot_run, rank_run(hotspot_run, None, "total"))


# ---------------------------------------------------------------------------- CLI


# ---------------------------------------------------------------------------- widget


def test_ties_share_a_place_and_sections_without_events_are_not_ranked():
    from napari_forgetting.runs.hotspots import Ranking, RankRow

    def row(i, value):
        return RankRow(rank=i + 1, kind="inline", number=i, index=i, value=value,
                       pixels=100, events=round(value * 100))  # fmt: skip

    values = [0.3, 0.2, 0.2, 0.1, 0.0, 0.0, 0.0]
    ranking = Ranking("forgetting", 4, "scruff", 0, tuple(row(i, v) for i, v in enumerate(values)))
    assert ranking.rank_labels() == ["1", "2=", "2=", "4", "–", "–", "–"]
    assert ranking.unranked_note() == "3 sections without any event are not ranked (–)"
    table = ranking.format_table().splitlines()
    assert table[2].split()[0] == "2=" and table[5].split()[0] == "–"
    assert table[-1] == "(3 sections without any event are not ranked (–))"
    # another statistic's zero is a value like any other
    other = Ranking("never_learned", 4, "scruff", 0, ranking.rows)
    assert other.rank_labels()[-3:] == ["5=", "5=", "5="] and other.unranked_note() == ""
