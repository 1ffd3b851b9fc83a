"""Showing one run store in the viewer: replay an epoch, follow a run being written, inspect.

:class:`RunView` owns the run's :class:`~napari_forgetting._napari.live_layers.LiveLayers`,
the metrics and pixel-history docks, the poll timer that follows a run store still being
written (by ``napari-forgetting train`` elsewhere, say) and click-to-inspect. The training
widget feeds it live epochs and drives it from its slider; all of it runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import QTimer

from napari_forgetting._napari.live_layers import LiveLayers
from napari_forgetting._napari.widgets.lifetime import alive
from napari_forgetting._napari.widgets.plots import MetricsPlot, PixelHistoryPlot
from napari_forgetting._napari.worker import start_worker
from napari_forgetting.runs.geometry import RunGeometry, geometry_from_sections
from napari_forgetting.runs.pixel_history import pixel_history

__all__ = ["RunView"]


def _read_epoch(store: Any, epoch: int, names: list[str]) -> dict[str, Any] | Exception:
    """A worker's read of a stored epoch; a failure comes back as a value (one message, not
    napari's traceback notification)."""
    try:
        return store.epoch_arrays(epoch, names)
    except Exception as exc:  # noqa: BLE001 - told to the user
        return exc


class RunView:
    """One run store shown in live layers, replayed, followed and inspected.

    ``tell(message, error)`` reports to the user; ``on_new_epochs(n, follow)`` is called when
    a followed store has ``n`` committed epochs (the widget moves its slider).
    """

    #: Poll interval (ms) of a followed run store.
    poll_ms = 1000

    def __init__(
        self,
        viewer: Any,
        parent: Any,
        tell: Callable[[str, bool], None],
        on_new_epochs: Callable[[int], None],
    ) -> None:
        self.viewer = viewer
        self.parent = parent  # the dock this view belongs to
        self.tell = tell
        self.on_new_epochs = on_new_epochs
        self.store: Any = None  # the RunStore shown (a reader)
        self.live: LiveLayers | None = None
        self.metrics_plot: MetricsPlot | None = None
        self.pixel_plot: PixelHistoryPlot | None = None
        self.follow = True
        #: given to each LiveLayers made here (:attr:`LiveLayers.scale_listeners`)
        self.scale_listeners: list[Callable[[float, float], None]] = []
        self._shown_epochs = 0
        self._reader: Any = None  # the worker reading an epoch to replay
        self._asked: int | None = None  # the epoch to read next
        self._ask_count = 0  # a read is drawn if nothing was asked or drawn live since
        self.poll_timer = QTimer(parent)
        self.poll_timer.setInterval(self.poll_ms)
        self.poll_timer.timeout.connect(self.poll)
        viewer.mouse_drag_callbacks.append(self._on_mouse)

    # -------------------------------------------------------------- binding

    def bind(self, store: Any, world: dict | None, extras: tuple[str, ...], epochs: int) -> None:
        """Show ``store`` (its sections and classes) in the live layers; ``world``: the
        seismic layer's scale/translate, or ``None`` to recover them from the sections."""
        geometry = RunGeometry.of_store(store)
        if world is None:
            world = geometry_from_sections(
                store.volume_shape, store.eval_sections + store.map_sections
            )
        names = list(store.class_names)
        live = self.live
        if live is not None and live.compatible(geometry, world, extras):
            live.rebind(geometry)
            live.total_epochs = epochs
            live.class_names = names
        else:
            if live is not None:
                live.close()
            self.live = LiveLayers(self.viewer, geometry, world, names, extras, epochs)
            self.live.scale_listeners.extend(self.scale_listeners)
        self.live.ensure()
        self.store = store
        self._shown_epochs = store.n_epochs
        self.ensure_metrics_plot(names)
        self.metrics_plot.set_history(store.history, names)

    def ensure_metrics_plot(self, class_names: list[str]) -> MetricsPlot:
        if self.metrics_plot is None or not alive(self.metrics_plot):
            self.metrics_plot = MetricsPlot(self.viewer, class_names)
            # a tab beside the other docks: stacked in one column at 1280 x 800, every
            # dock got a sliver of the height
            self.viewer.window.add_dock_widget(
                self.metrics_plot, name="forgetting: metrics", area="right", tabify=True
            )
            # the dock that started the run stays in front: its Stop button and colour scale
            home = getattr(self.parent, "dock", lambda: None)()
            if home is not None:
                home.raise_()
        return self.metrics_plot

    def ensure_pixel_plot(self) -> PixelHistoryPlot:
        if self.pixel_plot is None or not alive(self.pixel_plot):
            self.pixel_plot = PixelHistoryPlot(self.viewer)
            dock = self.viewer.window.add_dock_widget(
                self.pixel_plot, name="forgetting: pixel history", area="right", tabify=True
            )
            dock.raise_()  # the user clicked a pixel: show its history
        return self.pixel_plot

    def _report_recreated(self, recreated: list[str]) -> None:
        if recreated:
            self.tell(f"re-created the closed layer(s) {', '.join(recreated)}", False)

    # -------------------------------------------------------------- epochs

    def show_live(
        self, epoch: int, arrays: dict[str, Any], history: Any, display: bool = True
    ) -> None:
        """A live epoch: the training worker's :class:`~napari_forgetting.training.live.
        EpochDone` arrays, drawn when ``display`` (the user follows the latest epoch)."""
        if self.store is not None:
            self.store.refresh()
        self._shown_epochs = epoch + 1
        if display:
            self._asked, self._ask_count = None, self._ask_count + 1  # no replay over it
            self.draw(epoch, arrays)
        if self.metrics_plot is not None:
            self.metrics_plot.set_history(history)

    def draw(self, epoch: int, arrays: dict[str, Any]) -> None:
        """Draw a live epoch's arrays (``maps``, ``predictions``, ``heat_upper``) in the live
        layers, nothing else: also part of an epoch's evaluation pass (a
        :class:`~napari_forgetting.training.live.SweepShown`), whose epochs and curves
        stay as they are until the epoch ends."""
        if self.live is not None:
            recreated = self.live.show(
                epoch, arrays.get("maps") or {}, arrays.get("predictions"),
                arrays.get("heat_upper"),
            )  # fmt: skip
            self._report_recreated(recreated)

    def show_epoch(self, epoch: int) -> str | None:
        """Replay epoch ``epoch`` (0-based) of the store; returns a status line.

        The epoch is read in a background worker (:meth:`RunStore.epoch_arrays`: tens of MB
        and a percentile at F3 size, half a second on the GUI thread) and drawn when read;
        asked again while reading (a slider dragged along), only the last epoch asked is
        read next. :attr:`replaying` is true until it is drawn."""
        store = self.store.refresh()
        if not 0 <= epoch < store.n_epochs or self.live is None:
            return None
        self._asked = epoch
        self._ask_count += 1
        if self._reader is None:
            self._read_asked()
        return f"showing epoch {epoch + 1} of {store.n_epochs} ({store.status})"

    @property
    def replaying(self) -> bool:
        """An asked epoch is still being read (or waits for the one being read)."""
        return self._reader is not None or self._asked is not None

    def _read_asked(self) -> None:
        epoch, self._asked = self._asked, None
        if epoch is None or self.live is None or self.store is None:
            return
        count = self._ask_count
        self._reader = start_worker(
            _read_epoch, self.store, epoch, sorted(self.live.map_names()),
            on_event=lambda arrays: self._on_read(epoch, arrays, count),
            on_finished=self._on_reader_done,
        )  # fmt: skip

    def _on_read(self, epoch: int, arrays: Any, count: int) -> None:
        if count != self._ask_count:  # superseded: a later ask, or a live epoch drawn
            return
        if isinstance(arrays, Exception):
            self.tell(f"cannot show epoch {epoch + 1}: {arrays}", True)
        else:
            self.draw(epoch, arrays)

    def _on_reader_done(self) -> None:
        self._reader = None
        self._read_asked()

    # -------------------------------------------------------------- following

    def start_following(self) -> bool:
        """Poll the store while it is still being written; True when following."""
        self.poll()
        if self.store is not None and self.store.status in ("running", "created"):
            self.poll_timer.start()
        return self.poll_timer.isActive()

    def stop_following(self) -> None:
        self.poll_timer.stop()

    def poll(self) -> None:
        """Show epochs committed since the last look (when following the latest)."""
        store = self.store
        if store is None:
            self.poll_timer.stop()
            return
        try:
            store.refresh()
        except Exception:  # noqa: BLE001 - state.json is replaced atomically; retry later
            return
        n = store.n_epochs
        if n > self._shown_epochs:
            self.on_new_epochs(n)
            if self.follow:
                self.show_epoch(n - 1)
            if self.metrics_plot is not None:
                self.metrics_plot.set_history(store.history)
            self._shown_epochs = n
        if store.status not in ("running", "created"):
            self.poll_timer.stop()

    # -------------------------------------------------------------- inspection

    def _on_mouse(self, viewer: Any, event: Any):
        if event.type != "mouse_press" or self.store is None:
            return
        position = tuple(event.position)
        yield
        moved = False
        while event.type == "mouse_move":
            moved = True
            yield
        if not moved:
            self.inspect(position)

    def inspect(self, world_position: Any) -> str:
        """Show the learning history of the voxel at ``world_position`` (world coordinates:
        inline, crossline, sample) in the pixel-history dock; returns the message shown."""
        live, store = self.live, self.store
        if live is None or store is None:
            return "no run to inspect"
        pos = np.asarray(world_position, float)[-3:]
        scale = np.asarray(live.world["scale"], float)
        translate = np.asarray(live.world["translate"], float)
        idx = np.round((pos - translate) / scale).astype(int)
        plot = self.ensure_pixel_plot()
        store.refresh()
        viewed = live.viewed_kinds()
        prefer = viewed[0] if len(viewed) == 1 else None
        found = live.geometry.locate(*idx, which="eval", prefer=prefer)
        where = f"inline {pos[0]:g}, crossline {pos[1]:g}, sample {pos[2]:g}"
        if found is None:
            message = (
                f"{where} is not tracked; tracked sections: "
                f"{live.geometry.describe_sections('eval')}"
            )
            plot.show_message(message)
            return message
        if store.n_epochs == 0:
            message = f"{where} is tracked; no epoch is complete yet"
            plot.show_message(message)
            return message
        section, row, col = found
        epoch = live.epoch if live.epoch is not None else store.n_epochs - 1
        history = pixel_history(store, section, row, col, epoch)
        plot.show_history(history)
        return history.summary()

    def close(self) -> None:
        self.poll_timer.stop()
        self._asked = None
        if self._reader is not None:
            self._reader.quit()
            self._reader.await_workers(msecs=10_000)
        if self.live is not None:
            self.live.close()
        if self._on_mouse in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_mouse)

    @property
    def run_dir(self) -> Path | None:
        return None if self.store is None else Path(self.store.path)
