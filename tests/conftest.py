"""Shared fixtures: generated SEG-Y cases, the optional real files of ../shared, small surveys
and the hand-made run store of ``hotspot_run.py``.

The suite's folders: ``core/`` (no Qt), ``cli/`` (the command line) and ``napari/`` (the
napari face; every test there is marked ``gui``: ``pytest -m "not gui"`` runs without a
display).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED_SEGYIO = REPO.parent / "shared" / "data" / "segyio"
sys.path.insert(0, str(TESTS))  # test-support modules beside this file (hotspot_run.py)


SUITE_PEAK_DISK_GIB = 4.5  # measured: the whole suite's temporary folders at their largest


def pytest_report_header(config):
    """The free space where the tests write, against what the suite needs at its peak: a disk
    that fills mid-run fails unrelated tests (writes of run stores, checkpoints, Qt)."""
    import shutil
    import tempfile

    free = shutil.disk_usage(tempfile.gettempdir()).free / 2**30
    line = f"temporary folders: {free:.1f} GiB free; the suite needs ~{SUITE_PEAK_DISK_GIB} GiB"
    return line + (" -- NOT ENOUGH: expect write failures" if free < SUITE_PEAK_DISK_GIB else "")


def pytest_collection_modifyitems(config, items):
    """Tests under ``napari/`` are marked ``gui``. A test that reads the real files of
    ``../shared/data/segyio`` is skipped where they are absent (a fresh clone): marked here,
    at collection, so the skip comes before any of its fixtures (a napari viewer, say) is
    set up."""
    gui = TESTS / "napari"
    skip = pytest.mark.skip(reason=f"shared SEG-Y test data not found at {SHARED_SEGYIO}")
    for item in items:
        if gui in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.gui)
        if "segyio_dir" in getattr(item, "fixturenames", ()) and not SHARED_SEGYIO.is_dir():
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _runs_in_tmp_path(tmp_path_factory, monkeypatch):
    """A run started in the viewer without a folder goes to ``$NAPARI_FORGETTING_RUNS``: here
    a folder of the test session, removed with it, never the machine's temp dir."""
    monkeypatch.setenv("NAPARI_FORGETTING_RUNS", str(tmp_path_factory.getbasetemp() / "runs"))


@pytest.fixture(autouse=True)
def _nothing_stays_frozen():
    """The docks freeze the long-lived heap (``_napari.collector``); each test ends thawed,
    so no test's objects outlive it in the permanent generation."""
    yield
    collector = sys.modules.get("napari_forgetting._napari.collector")
    if collector is not None:
        collector.thaw()


@pytest.fixture
def segyio_dir() -> Path:
    """The real SEG-Y files of ../shared/data/segyio (tests using it are skipped where absent)."""
    return SHARED_SEGYIO


# ------------------------------------------------------------------ generated SEG-Y cases


@dataclass(frozen=True)
class SegyCases:
    """SEG-Y files written by segyio itself (not by this project's writer) into a folder.

    ``cube`` ``(inline, crossline, sample)`` float32 holds whole numbers, so every format
    stores it exactly; ``inlines`` / ``crosslines`` are its header numbers (crosslines in
    steps of 2), samples every 4 ms.

    Readable: ``inline`` (big-endian int16, inline-sorted, the F3 crop's format),
    ``little`` (little-endian int16), ``crossline`` (crossline-sorted), ``ibm`` (4-byte IBM
    float), ``ieee`` (4-byte IEEE float). Broken: ``truncated`` (cut off inside the last
    trace), ``header_only`` (textual and binary headers, no traces), ``prestack`` (2 offsets
    per trace position), ``prestack_1x1`` (one position, 4 offsets), ``no_geometry`` (every
    trace's line numbers are 0).
    """

    folder: Path
    cube: np.ndarray
    inlines: np.ndarray
    crosslines: np.ndarray

    def __getitem__(self, name: str) -> Path:
        path = self.folder / f"{name}.sgy"
        if not path.is_file():
            raise KeyError(name)
        return path


def _segyio_create(
    path: Path,
    traces: np.ndarray,
    inlines,
    crosslines,
    *,
    fmt: int = 3,
    endian: str = "big",
    sorting: str = "inline",
    offsets=(1,),
    line_numbers: tuple[int, int] | None = None,
) -> None:
    """Write ``traces`` ``(inline, crossline, [offset,] sample)`` with ``segyio.create``."""
    import segyio

    spec = segyio.spec()
    spec.iline, spec.xline = 189, 193
    spec.format = fmt
    spec.sorting = (
        segyio.TraceSortingFormat.CROSSLINE_SORTING
        if sorting == "crossline"
        else segyio.TraceSortingFormat.INLINE_SORTING
    )
    spec.endian = endian
    spec.samples = np.arange(traces.shape[-1]) * 4.0
    spec.ilines, spec.xlines, spec.offsets = list(inlines), list(crosslines), list(offsets)
    n_il, n_xl = len(inlines), len(crosslines)
    order = [(i, j) for i in range(n_il) for j in range(n_xl)]
    if sorting == "crossline":
        order = [(i, j) for j in range(n_xl) for i in range(n_il)]
    field = segyio.TraceField
    dtype = np.int16 if fmt == 3 else np.float32
    with segyio.create(str(path), spec) as f:
        t = 0
        for i, j in order:
            for k, offset in enumerate(offsets):
                il, xl = (inlines[i], crosslines[j]) if line_numbers is None else line_numbers
                f.header[t] = {
                    field.INLINE_3D: int(il),
                    field.CROSSLINE_3D: int(xl),
                    field.offset: int(offset),
                }
                trace = traces[i, j] if traces.ndim == 3 else traces[i, j, k]
                f.trace[t] = trace.astype(dtype)
                t += 1


def write_segy_cases(folder: Path) -> SegyCases:
    """Write every case of :class:`SegyCases` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2021)
    cube = rng.integers(-3000, 3000, (6, 5, 20)).astype(np.float32)
    inlines, crosslines = np.arange(111, 117), np.arange(875, 885, 2)
    for name, options in {
        "inline": {},
        "little": {"endian": "little"},
        "crossline": {"sorting": "crossline"},
        "ibm": {"fmt": 1},
        "ieee": {"fmt": 5},
        "no_geometry": {"line_numbers": (0, 0)},
    }.items():
        _segyio_create(folder / f"{name}.sgy", cube, inlines, crosslines, **options)
    raw = (folder / "inline.sgy").read_bytes()
    (folder / "truncated.sgy").write_bytes(raw[:-17])
    (folder / "header_only.sgy").write_bytes(raw[:3600])
    prestack = rng.standard_normal((4, 3, 2, 10)).astype(np.float32)
    _segyio_create(folder / "prestack.sgy", prestack, [1, 2, 3, 4], [20, 21, 22], fmt=5,
                   offsets=(1, 2))  # fmt: skip
    one = rng.standard_normal((1, 1, 4, 10)).astype(np.float32)
    _segyio_create(folder / "prestack_1x1.sgy", one, [1], [1], fmt=5, offsets=(1, 2, 3, 4))
    return SegyCases(folder, cube, inlines, crosslines)


@pytest.fixture(scope="session")
def segy_cases(tmp_path_factory) -> SegyCases:
    """SEG-Y files written by segyio: readable ones in every layout and broken ones."""
    return write_segy_cases(tmp_path_factory.mktemp("segy_cases"))


# ------------------------------------------------------------------ small surveys


@pytest.fixture(scope="session")
def tiny_survey():
    from napari_forgetting.data.synthetic import make_f3_like

    return make_f3_like((8, 16, 32), seed=3)


# ------------------------------------------------------------------ trained once per session

#: The survey of the workflow tests and how a run records it (so workers can reopen it).
WORKFLOW_SHAPE = (8, 12, 32)
WORKFLOW_SOURCE = {"kind": "synthetic", "layout": "f3-benchmark", "shape": list(WORKFLOW_SHAPE),
                   "seed": 2}  # fmt: skip


@pytest.fixture(scope="session")
def workflow_survey():
    """The training volume of the synthetic benchmark layout ``WORKFLOW_SOURCE`` names."""
    from napari_forgetting.data.source import open_source

    return open_source(WORKFLOW_SOURCE)


@pytest.fixture(scope="session")
def parent_run(workflow_survey, tmp_path_factory):
    """A finished 2-epoch segmentation run of ``workflow_survey`` that records its source:
    the parent of the pools and retrainings (read only; copy it to change it)."""
    from napari_forgetting.runs.store import RunStore
    from napari_forgetting.training import TrainConfig, Trainer

    cfg = TrainConfig(epochs=2, batch_size=4, patch_size=(32, 32), patches_per_epoch=4, lr=3e-3,
                      seed=0, device="cpu", num_threads=2)  # fmt: skip
    out = tmp_path_factory.mktemp("parent") / "run"
    Trainer(workflow_survey, cfg, out_dir=out, source=WORKFLOW_SOURCE).fit()
    return RunStore.open(out)


@pytest.fixture(scope="session")
def saved_pool(parent_run, workflow_survey, tmp_path_factory):
    """An augmented pool of ``parent_run`` (the stratal transfer: no model), inline and
    crossline targets, saved as .npy and zarr: its folder (read only; copy it to change it)."""
    from napari_forgetting.transfer import StratalTransfer
    from napari_forgetting.workflow.augment import generate_pool, save_pool

    pool = generate_pool(parent_run, StratalTransfer(), "scruff", n_sources=2, per_source=3,
                         seed=1, min_pixels=0)  # fmt: skip
    out = tmp_path_factory.mktemp("pool") / "pool"
    save_pool(pool, out, formats=("npy", "zarr"), volume=workflow_survey,
              class_names=workflow_survey.class_names)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def transfer_checkpoint(workflow_survey, tmp_path_factory):
    """A tiny style-transfer model of ``workflow_survey``, trained one epoch: its
    ``checkpoint.pt``."""
    from napari_forgetting.transfer import TransferConfig, TransferTrainer

    config = TransferConfig(
        epochs=1, batch_size=2, patch_size=(16, 16), patches_per_epoch=2, style_dim=4, ngf=4,
        n_up=2, encoder_width=4, ndf=4, num_d=1, n_layers_d=2, eval_sections=0, device="cpu",
        num_threads=1,
    )  # fmt: skip
    trainer = TransferTrainer(workflow_survey, config, out_dir=tmp_path_factory.mktemp("tm"))
    trainer.fit()
    return trainer.checkpoint_file


@pytest.fixture
def hotspot_run(tmp_path):
    """The finished hand-made run of ``hotspot_run.py`` (two epochs) in ``tmp_path/run``."""
    from hotspot_run import make_run

    return make_run(tmp_path / "run")


@pytest.fixture
def notifications():
    """Messages of the napari notifications shown during a test."""
    from napari.utils.notifications import notification_manager

    seen = []

    def record(notification):
        seen.append(str(notification.message))

    notification_manager.notification_ready.connect(record)
    yield seen
    notification_manager.notification_ready.disconnect(record)


def _check_heat_layer(layer, store, counts: np.ndarray, kind: str) -> None:
    """``layer`` (a heat layer of section ``kind``) shows exactly the flat ``counts`` of the
    store's map sections of that kind at their places, and zero (transparent) elsewhere."""
    from napari_forgetting.data.sections import scatter_sections

    mine = [k for k, sec in enumerate(store.map_sections) if sec.kind == kind]
    assert mine, kind
    expected = scatter_sections(
        [store.map_sections[k] for k in mine],
        [counts[store.map_offsets[k] : store.map_offsets[k + 1]].reshape(
            store.map_sections[k].shape) for k in mine],
        store.volume_shape, fill=np.nan,
    )  # fmt: skip
    tracked = ~np.isnan(expected)
    data = np.asarray(layer.data)
    np.testing.assert_array_equal(data[tracked], expected[tracked])
    assert (data[~tracked] == 0).all()


@pytest.fixture
def check_heat_layer():
    """:func:`_check_heat_layer`: a run's heat layer of one section kind shows its counts."""
    return _check_heat_layer


def _config_variant(config: type, docks: dict | None = None, **defaults: object) -> type:
    """``config`` with other defaults (``defaults``) and other dock start values (``docks``),
    the same fields, options and checks otherwise: a config changed in its one place."""
    import dataclasses
    import typing

    from napari_forgetting.training.options import OPTION

    hints = typing.get_type_hints(config)
    fields = {f.name: f for f in dataclasses.fields(config)}
    changed = []
    for name in {**defaults, **(docks or {})}:
        f = fields[name]
        opt = f.metadata[OPTION]
        if docks and name in docks:
            opt = dataclasses.replace(opt, dock={**opt.dock, "value": docks[name]})
        default = defaults.get(name, f.default)
        changed.append(
            (name, hints[name], dataclasses.field(default=default, metadata={OPTION: opt}))
        )
    return dataclasses.make_dataclass(config.__name__, changed, bases=(config,))


@pytest.fixture
def config_variant():
    """:func:`_config_variant`: a trainer config with other defaults (tests of the options
    that the command line and the docks derive from it)."""
    return _config_variant
