"""Every dock fits a 1280 x 800 window with the others open: no horizontal clipping, the
window not grown, each dock's primary actions in view without scrolling."""

from qtpy.QtCore import QPoint
from qtpy.QtWidgets import QAbstractScrollArea, QMainWindow, QScrollArea, QWidget

DOCKS = ["Live training", "Hotspots", "Transfer", "Augment and retrain", "Compare report"]


def _rect_in(widget, window):
    top_left = widget.mapTo(window, QPoint(0, 0))
    return top_left.x(), top_left.y(), top_left.x() + widget.width(), top_left.y() + widget.height()


def _visible_leaves(widget):
    """Visible widgets holding no visible child widget (what the eye sees)."""
    leaves = []
    for child in widget.findChildren(QWidget):
        if not child.isVisible() or isinstance(child, (QScrollArea, QAbstractScrollArea)):
            continue
        if not any(c.isVisible() for c in child.findChildren(QWidget)):
            leaves.append(child)
    return leaves


def test_every_dock_fits_1280x800_with_the_others_open(make_napari_viewer, qtbot):
    # (no fixture holds the viewer: a fixture's value outlives the viewer's leak check)
    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1280, 800)
    viewer.open_sample("napari-forgetting", "f3_synthetic")
    docks = {}
    for name in DOCKS:
        docks[name] = viewer.window.add_plugin_dock_widget("napari-forgetting", name)
        qtbot.wait(10)
    qtbot.wait(50)
    window = docks[DOCKS[0]][0].parentWidget()
    assert isinstance(window, QMainWindow)
    # five docks tabbed into one area: the window is not grown past the screen
    assert window.width() <= 1280 and window.height() <= 800, window.size()
    tabbed = {d for dock, _ in docks.values() for d in window.tabifiedDockWidgets(dock)}
    assert len(tabbed) == len(DOCKS)
    long = "a long result line, as a preview or a measurement writes it " * 4
    docks["Transfer"][1].figures.value = long  # what a preview writes (it widened the form)
    docks["Transfer"][1].quality.value = long
    for name, (dock, widget) in docks.items():
        widget.tell(long, None)  # a long status line wraps, it does not widen the dock
        dock.raise_()
        qtbot.wait(30)
        assert widget.isVisible(), name
        left, top, right, bottom = _rect_in(dock, window)
        area = widget.findChild(QScrollArea)
        form = area.widget() if area is not None else None
        # a form's visible part is its scroll area's viewport; the status line the dock's
        form_right = _rect_in(area.viewport(), window)[2] if area is not None else right
        clipped = []
        for w in _visible_leaves(widget):
            bound = form_right if form is not None and form.isAncestorOf(w) else right
            if _rect_in(w, window)[2] > bound + 1:
                text = w.text() if hasattr(w, "text") else ""
                clipped.append((type(w).__name__, text, _rect_in(w, window)[2] - bound))
        assert not clipped, f"{name}: cut on the right: {clipped}"
        view_top, view_bottom = top, bottom
        if area is not None:
            _, view_top, _, view_bottom = _rect_in(area.viewport(), window)
        for action in widget.primary_actions():
            _, a_top, a_right, a_bottom = _rect_in(action, window)
            assert action.isVisible(), (name, action.text())
            assert view_top <= a_top and a_bottom <= view_bottom, (name, action.text())
            assert a_right <= right + 1, (name, action.text())
    assert window.width() <= 1280 and window.height() <= 800, window.size()


def test_every_field_of_every_dock_has_a_tooltip(make_napari_viewer):
    """What each field means is one hover away (the README is not at hand in napari)."""
    from qtpy.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox, QLineEdit, QTableWidget

    viewer = make_napari_viewer()
    missing = []
    for name in DOCKS:
        _, widget = viewer.window.add_plugin_dock_widget("napari-forgetting", name)
        fields = (QAbstractSpinBox, QComboBox, QLineEdit, QCheckBox, QTableWidget)
        for field in widget.findChildren(fields):  # what a user sets (buttons say what they do)
            if isinstance(field.parentWidget(), (QAbstractSpinBox, QComboBox)):
                continue  # a spin box's or a drop-down's own line edit
            parent = field.parentWidget()
            tip = field.toolTip() or (parent.toolTip() if parent is not None else "")
            if not tip.strip():
                text = field.text() if hasattr(field, "text") else ""
                missing.append((name, type(field).__name__, text, field.objectName()))
    assert not missing, "\n".join(map(str, missing))


def test_the_metrics_plot_is_drawn_at_its_dock_width(qtbot):
    from napari_forgetting._napari.widgets.plots import MetricsPlot

    plot = MetricsPlot(None, ["a", "b", "c"])
    qtbot.addWidget(plot)
    plot.render_delay_s = 0.0
    plot.resize(320, 420)
    plot.show()
    qtbot.wait(20)
    history = [{"epoch": e, "loss": 1.0 / (e + 1), "class_accuracy": [0.5, 0.6, 0.7],
                "mean_class_accuracy": 0.6, "pixel_accuracy": 0.7} for e in range(3)]  # fmt: skip
    plot.set_history(history)
    assert plot.wait()
    qtbot.waitUntil(lambda: not plot.canvas.pixmap().isNull() and plot.renders >= 1)
    qtbot.wait(50)
    assert plot.canvas.pixmap().width() <= plot.canvas.width()  # nothing cut at the sides


def test_closing_a_dock_stops_its_jobs_and_closes_their_progress(make_napari_viewer, qtbot):
    """Every dock, the ones without a job of their own today included, stops what runs when
    it closes (the base's shutdown): a job that outlived its dock kept writing."""

    class Job:
        def __init__(self):
            self.quit_asked = self.awaited = False

        def quit(self):
            self.quit_asked = True

        def await_workers(self, msecs=None):
            self.awaited = True

    class Bar:
        closed = False

        def close(self):
            self.closed = True

    viewer = make_napari_viewer()
    for name in DOCKS:
        dock, widget = viewer.window.add_plugin_dock_widget("napari-forgetting", name)
        job, bar = Job(), Bar()
        widget.worker, widget.pbar = job, bar
        widget.stop()
        assert job.quit_asked and widget.status.text() == widget.STOPPING
        job.quit_asked = False
        widget.close()  # Qt's close: the dock's closeEvent
        assert job.quit_asked and job.awaited and bar.closed and widget.pbar is None, name
        widget.worker = None
