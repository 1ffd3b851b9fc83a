"""A consensus run over seeds in napari: replayed in the training dock (mean counts, the
agreement layer, the pixel history) and ranked in the Hotspots dock (P(top k), intervals,
the stability note). The seed runs are the hand-made run of ``hotspot_run.py``: no training.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hotspot_run import EVENTS, make_run
from napari_forgetting._napari.live_layers import AGREEMENT_NAME, HEAT_NAME
from napari_forgetting.runs.consensus import build_consensus, section_uncertainty
from napari_forgetting.runs.hotspots import rank_run

#: Each seed's last-epoch events: the hand-made ones, one more on every pixel for seed 1,
#: so the consensus holds the mean EVENTS + 1/3 (not whole numbers).
SEED_EVENTS = {0: EVENTS, 1: [e + 1 for e in EVENTS], 2: EVENTS}


@pytest.fixture
def consensus(tmp_path):
    seeds = [
        make_run(tmp_path / f"seed{s}", events=events, train_config={"seed": s})
        for s, events in SEED_EVENTS.items()
    ]
    return build_consensus(seeds, tmp_path / "cons"), seeds


def test_a_consensus_replays_with_mean_counts_agreement_and_pixel_history(
    make_napari_viewer, qtbot, consensus, check_heat_layer, notifications
):
    from napari_forgetting._napari.widgets.training import TrainingWidget

    store, seeds = consensus
    viewer = make_napari_viewer()
    widget = TrainingWidget(viewer)
    assert not widget.extra_boxes[AGREEMENT_NAME].enabled  # no run: nothing to offer
    widget.open_run(store.path)
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    assert widget.live.epoch == 1
    assert widget.extra_boxes[AGREEMENT_NAME].enabled and widget.extra_boxes[AGREEMENT_NAME].value

    mean = store.flat_map("forgetting_events", 1)
    assert mean.dtype == np.float32 and not np.all(mean == np.round(mean))
    agreement = store.flat_map("agreement", 1)
    assert agreement.min() >= 0 and agreement.max() <= 1 and agreement.max() > 0
    for kind in widget.live.kinds:
        check_heat_layer(widget.live.layer(HEAT_NAME, kind), store, mean, kind)
        layer = widget.live.layer(AGREEMENT_NAME, kind)
        check_heat_layer(layer, store, agreement, kind)  # zero transparent, as the heat maps
        assert tuple(layer.contrast_limits) == (0.0, 1.0)
        data = np.asarray(layer.data)
        assert data.min() >= 0 and data.max() <= 1
    heat = widget.live.layer(HEAT_NAME, "inline")
    assert tuple(heat.contrast_limits) == (0.0, float(np.ceil(np.percentile(mean, 99.5))))
    # the seeds' mean on inline 100 (row = sample 1, col = crossline 300): 2 + 1/3
    np.testing.assert_allclose(heat.data[0, 0, 1], 2 + 1 / 3, rtol=1e-6)

    # the pixel history quotes the mean count with 2 decimals
    message = widget.inspect((100.0, 300.0, 1.0))
    assert "majority of 3 seeds" in message and "mean 2.33 forgetting events" in message
    plot = widget.pixel_plot
    assert plot.history.seeds == 3
    np.testing.assert_allclose(plot.history.mean_events, 2 + 1 / 3, rtol=1e-6)
    assert "2.33" in plot.axes[0].get_title()

    widget.show_epoch(0)  # the other epoch replays as well
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    assert widget.live.epoch == 0
    assert not any("cannot" in m for m in notifications), notifications

    # a single run stores no agreement: the box is off and disabled, no agreement layers
    widget.open_run(seeds[0].path)
    qtbot.waitUntil(lambda: not widget.view.replaying, timeout=10_000)
    box = widget.extra_boxes[AGREEMENT_NAME]
    assert not box.enabled and not box.value
    assert AGREEMENT_NAME not in widget.live.families


def _hotspots(make_napari_viewer, qtbot, monkeypatch):
    from napari_forgetting._napari.widgets import dock
    from napari_forgetting._napari.widgets import hotspots as module

    warnings: list[str] = []  # the notifications every dock shows (ForgettingDock.tell)
    monkeypatch.setitem(dock._NOTIFY, "warning", warnings.append)
    monkeypatch.setitem(dock._NOTIFY, "info", lambda text: None)
    widget = module.HotspotsWidget(make_napari_viewer())
    qtbot.addWidget(widget)
    widget.min_pixels_spin.setValue(0)
    widget.warnings = warnings
    return widget


def test_hotspots_of_a_consensus_show_p_top_k_intervals_and_the_seeds(
    make_napari_viewer, qtbot, monkeypatch, consensus
):
    from napari_forgetting._napari.widgets import hotspots as module

    store, _ = consensus
    threads: list[tuple[int, object]] = []

    def spy(*args, **kwargs):
        ranking = rank_run(*args, **kwargs)
        threads.append((threading.get_ident(), ranking.uncertainty))
        return ranking

    monkeypatch.setattr(module, "rank_run", spy)
    widget = _hotspots(make_napari_viewer, qtbot, monkeypatch)
    widget.set_run(store)
    widget.set_class("b")
    table = widget.table
    ranking = rank_run(store, "b", min_pixels=0)
    expected = section_uncertainty(store, 1, ranking.keys(), widget.top_spin.value())
    assert expected is not None and expected.k == 3  # 3 sections hold class b
    assert table.columnCount() == 5 and table.isColumnHidden(3)  # mean events: room made
    headers = [table.horizontalHeaderItem(c).text() for c in range(5)]
    assert headers[1] == "density (95%)" and headers[4] == "P(top 3)"
    assert [table.item(r, 0).text() for r in range(3)] == [row.label for row in ranking]
    for r in range(3):
        assert table.item(r, 4).text() == f"{expected.p_top[r]:.2f}"
        low, high = expected.low[r], expected.high[r]
        value = ranking[r].value
        assert table.item(r, 1).text() == f"{value:.2f} ({low:.2f}–{high:.2f})"
        assert low <= ranking[r].value + 1e-9 and ranking[r].value <= high + 1e-9
    assert "consensus of 3 seeds (0, 1, 2)" in widget.status.text()
    assert "P(top k)" in widget.status.text() and not widget.warnings

    widget.top_spin.setValue(1)  # k of P(top k) follows the top-N box
    assert table.horizontalHeaderItem(4).text() == "P(top 1)"
    assert sum(float(table.item(r, 4).text()) for r in range(3)) == pytest.approx(1.0, abs=0.02)

    # a polled ranking computes them in its worker, with the ranking
    threads.clear()
    widget._rank_in_background()
    qtbot.waitUntil(lambda: widget.rank_worker is None, timeout=10_000)
    assert len(threads) == 1 and threads[0][0] != threading.get_ident()
    assert threads[0][1] is not None and threads[0][1].k == 1
    assert table.columnCount() == 5 and widget.uncertainty is not None

    # another statistic, or all classes: no seed densities behind it, no extra columns
    widget.set_statistic("low_confidence")
    assert table.columnCount() == 4 and widget.uncertainty is None
    assert "consensus of 3 seeds" in widget.status.text()
