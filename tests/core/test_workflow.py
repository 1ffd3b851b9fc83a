"""Export (npy / SEG-Y / zarr, atomic, no silent overwrite), augmented pool and retraining."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from napari_forgetting.data import open_volume
from napari_forgetting.data.folders import FolderError
from napari_forgetting.data.sections import Section, section_labels
from napari_forgetting.runs.hotspots import rank_run, save_style_sources
from napari_forgetting.runs.store import RunStore
from napari_forgetting.transfer import RegionStyleTransfer, StratalTransfer, TransferModelConfig
from napari_forgetting.workflow import export as export_mod
from napari_forgetting.workflow.augment import (
    TransferBelowBar,
    check_transfer,
    generate_pool,
    load_pool,
    retrain,
    save_pool,
)
from napari_forgetting.workflow.export import export_volume


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = TransferModelConfig(n_classes=6, style_dim=4, ngf=4, n_up=3, encoder_width=4)
    return RegionStyleTransfer(config).eval()


# ------------------------------------------------------------------ export


def test_export_roundtrip_all_formats(tmp_path, workflow_survey):
    shape = workflow_survey.seismic.shape
    inl = np.arange(101, 101 + shape[0])
    xl = np.arange(2001, 2001 + shape[1]) * 2
    paths = export_volume(
        tmp_path, "cube", workflow_survey.seismic, workflow_survey.labels, inlines=inl,
        crosslines=xl, sample_interval=2.0, class_names=workflow_survey.class_names,
    )  # fmt: skip
    assert set(paths) == {"seismic_npy", "labels", "segy", "zarr", "manifest"}
    for key in ("seismic_npy", "segy", "zarr"):
        vol = open_volume(paths[key])
        np.testing.assert_array_equal(np.asarray(vol.data), workflow_survey.seismic)
        np.testing.assert_array_equal(np.asarray(vol.labels), workflow_survey.labels)
        if key != "seismic_npy":
            np.testing.assert_array_equal(vol.inlines, inl)
            np.testing.assert_array_equal(vol.crosslines, xl)
            assert vol.sample_interval == pytest.approx(2.0)
    import segyio

    with segyio.open(paths["segy"], "r") as f:  # segyio itself reads the geometry
        np.testing.assert_array_equal(f.ilines, inl)
        np.testing.assert_array_equal(f.xlines, xl)
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["shape"] == list(shape) and manifest["inlines"] == [101, 108]
    assert manifest["files"]["segy"] == "cube.sgy"


def test_export_refuses_to_overwrite(tmp_path, workflow_survey):
    export_volume(tmp_path, "v", workflow_survey.seismic, workflow_survey.labels, formats=["npy"])
    before = (tmp_path / "v_seismic.npy").read_bytes()
    with pytest.raises(FileExistsError, match="v_seismic.npy"):
        export_volume(
            tmp_path, "v", workflow_survey.seismic * 2, workflow_survey.labels, formats=["npy"]
        )
    assert (tmp_path / "v_seismic.npy").read_bytes() == before
    export_volume(
        tmp_path,
        "v",
        workflow_survey.seismic * 2,
        workflow_survey.labels,
        formats=["npy"],
        overwrite=True,
    )
    np.testing.assert_array_equal(np.load(tmp_path / "v_seismic.npy"), workflow_survey.seismic * 2)


def test_interrupted_export_leaves_nothing_that_looks_complete(
    tmp_path, workflow_survey, monkeypatch
):
    def broken_segy(path, data, *a, **k):
        with open(path.with_name(f".{path.name}.partial.tmp"), "wb") as fh:
            fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(export_mod, "write_segy", broken_segy)
    with pytest.raises(OSError, match="disk full"):
        export_volume(
            tmp_path, "x", workflow_survey.seismic, workflow_survey.labels, formats=["npy", "segy"]
        )
    assert not (tmp_path / "x.sgy").exists()
    assert not (tmp_path / "x.manifest.json").exists()  # the set is recognisably incomplete


def test_export_bad_input(tmp_path, workflow_survey):
    with pytest.raises(ValueError, match="differ in shape"):
        export_volume(tmp_path, "b", workflow_survey.seismic, workflow_survey.labels[:2])
    with pytest.raises(ValueError, match="formats"):
        export_volume(tmp_path, "b", workflow_survey.seismic, formats=["tiff"])


# ------------------------------------------------------------------ pool and retraining


def test_generate_pool_from_run(parent_run, model, workflow_survey):
    scruff = parent_run.class_names.index("scruff")
    pool = generate_pool(
        parent_run, model, "scruff", n_sources=2, per_source=3, seed=5, min_pixels=0
    )
    assert len(pool) == 6 and pool.class_id == scruff
    top = [r.key for r in rank_run(parent_run, "scruff").top(2)]
    assert pool.sources == top
    assert [it.source for it in pool.items] == [top[0]] * 3 + [top[1]] * 3
    for it in pool.items:
        target = Section.from_key(it.target, workflow_survey)
        assert it.image.shape == target.shape == it.labels.shape
        np.testing.assert_array_equal(it.labels, section_labels(workflow_survey, target))
        assert (it.labels == scruff).any() and np.isfinite(it.image).all()
    again = generate_pool(parent_run, model, 4, n_sources=2, per_source=3, seed=5, min_pixels=0)
    for a, b in zip(pool.items, again.items, strict=True):
        np.testing.assert_array_equal(a.image, b.image)


def test_pool_uses_saved_style_sources(parent_run, model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(parent_run.path, copy)
    ranking = rank_run(copy, "scruff")
    assert len(ranking.rows) >= 2
    saved = save_style_sources(copy, ranking, top=2).to_dict()
    saved["sections"] = saved["sections"][::-1]  # a user's own choice, not the ranking order
    RunStore.open(copy, mode="a").update_info(style_sources=saved)
    pool = generate_pool(copy, model, "scruff", n_sources=2, per_source=1, min_pixels=0)
    assert pool.sources == saved["sections"] == [r.key for r in ranking.top(2)][::-1]


def test_pool_save_load_roundtrip_and_manifest(parent_run, model, workflow_survey, tmp_path):
    pool = generate_pool(
        parent_run, model, "scruff", n_sources=2, per_source=2, seed=1, min_pixels=0
    )
    written = save_pool(
        pool, tmp_path / "aug", volume=workflow_survey, class_names=workflow_survey.class_names
    )
    back = load_pool(tmp_path / "aug")
    assert len(back) == len(pool) and back.sources == pool.sources
    for a, b in zip(pool.items, back.items, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.labels, b.labels)
        assert (a.target, a.source, a.kind) == (b.target, b.source, b.kind)
    for kind, paths in written.items():
        manifest = json.loads(paths["manifest"].read_text())
        assert manifest["class"] == "scruff" and manifest["parent_run"] == str(
            parent_run.path.resolve()
        )
        assert {s["kind"] for s in manifest["sections"]} == {kind}
        for fmt in ("seismic_npy", "segy", "zarr"):
            vol = open_volume(paths[fmt])
            assert vol.shape[0] == len(manifest["sections"])
    with pytest.raises(FolderError, match="already holds an augmented pool"):
        save_pool(pool, tmp_path / "aug")


def test_retrain_on_pool_is_a_linked_run(parent_run, model, workflow_survey, tmp_path):
    pool = generate_pool(parent_run, model, "scruff", n_sources=1, per_source=2, min_pixels=0)
    save_pool(pool, tmp_path / "aug")
    trainer = retrain(parent_run, tmp_path / "aug", tmp_path / "child", overrides={"epochs": 1})
    child = RunStore.open(tmp_path / "child")
    assert child.status == "finished" and child.info["parent"] == str(parent_run.path.resolve())
    assert child.info["augmented_pool"]["count"] == 2
    assert len(trainer.extra_pool) == 2
    assert child.info["source"] == parent_run.info["source"]


def test_style_sources_hold_at_least_min_pixels_of_the_class(parent_run, model):
    ranking = rank_run(parent_run, "scruff")
    counts = sorted(r.pixels for r in ranking)
    floor = counts[len(counts) // 2]  # half the sections hold fewer
    pool = generate_pool(parent_run, model, "scruff", n_sources=2, per_source=1, min_pixels=floor)
    big = {r.key for r in ranking if r.pixels >= floor}
    assert set(pool.sources) <= big and pool.extra["min_pixels"] == floor
    kept = rank_run(parent_run, "scruff", min_pixels=floor)
    assert [r.key for r in kept] == [r.key for r in ranking if r.pixels >= floor]
    assert kept.n_small == len(ranking) - len(kept) > 0
    assert f"in at least {floor} pixels" in kept.describe()
    with pytest.raises(ValueError, match="holds 1000000 pixels of class 'scruff'"):
        generate_pool(parent_run, model, "scruff", n_sources=1, per_source=1, min_pixels=10**6)


class _Flat(StratalTransfer):
    """A transfer that ignores its source (the class region becomes a constant)."""

    name = "flat"

    def fill(self, target_labels, source_image, source_labels, class_id, target_image=None):
        return np.full(target_labels.shape, 0.5, np.float32)


def test_a_transfer_below_the_bar_is_refused_unless_forced(workflow_survey):
    with pytest.raises(TransferBelowBar, match=r"below the quality bar .*inside 0\.000 <"):
        check_transfer(_Flat(), workflow_survey, 4, min_pixels=1)
    q = check_transfer(_Flat(), workflow_survey, 4, min_pixels=1, force=True)
    assert q["measured"] and q["forced"] and not q["passes"] and "per_triple" not in q
    # the stratal transfer on this tiny survey: its regions are too small to judge a texture,
    # so it is refused with that reason (never passed silently), and goes on when forced
    with pytest.raises(TransferBelowBar, match=r"cannot be judged .*measurable pairs"):
        check_transfer(StratalTransfer(), workflow_survey, 4, min_pixels=1)
    ok = check_transfer(StratalTransfer(), workflow_survey, 4, min_pixels=1, force=True)
    assert ok["measured"] and ok["forced"] and ok["verdict"] == "cannot judge"
    assert ok["inside"] > q["inside"]
    # too few held-out sections with the class: refused, or recorded as not measured
    with pytest.raises(TransferBelowBar, match="cannot be measured"):
        check_transfer(StratalTransfer(), workflow_survey, 4, min_pixels=10**6)
    q = check_transfer(StratalTransfer(), workflow_survey, 4, min_pixels=10**6, force=True)
    assert q == {"measured": False, "reason": q["reason"], "forced": True, "passes": None}


def test_pool_records_its_method_and_quality(parent_run, workflow_survey, tmp_path):
    quality = check_transfer(StratalTransfer(), workflow_survey, 4, min_pixels=1, force=True)
    pool = generate_pool(parent_run, StratalTransfer(), "scruff", n_sources=1, per_source=2,
                         min_pixels=0, quality=quality)  # fmt: skip
    assert pool.transfer_checkpoint is None
    save_pool(pool, tmp_path / "aug", formats=("npy",))
    record = json.loads((tmp_path / "aug" / "pool.json").read_text())
    assert record["transfer_method"] == "stratal" and record["min_pixels"] == 0
    assert record["transfer_quality"]["inside"] == pytest.approx(quality["inside"])
    back = load_pool(tmp_path / "aug")
    assert back.extra["transfer_quality"]["moves"] == pytest.approx(quality["moves"])


# ------------------------------------------------------------------ command line


def test_a_class_never_forgotten_gives_no_style_sources(parent_run, tmp_path):
    """All densities equal: the ranking's order is the sections' order, not hotspots, and no
    pool takes its sources from it."""
    import shutil

    import zarr

    from napari_forgetting.transfer import StratalTransfer

    copy = shutil.copytree(parent_run.path, tmp_path / "run")
    maps = zarr.open_group(str(copy / "store.zarr"), mode="r+")["maps"]
    for name in ("forgetting_events", "never_learned"):
        maps[name][:] = 0
    with pytest.raises(ValueError, match="never learned or never forgotten"):
        generate_pool(copy, StratalTransfer(), "scruff", n_sources=2, per_source=1, min_pixels=0)


def test_a_pool_larger_than_memory_is_refused_before_any_transfer(parent_run, monkeypatch):
    import napari_forgetting.data.spill as spill
    from napari_forgetting.transfer import StratalTransfer

    monkeypatch.setattr(spill, "memory_bytes", lambda: 2**16)  # a machine of 64 KiB
    with pytest.raises(ValueError, match=r"a pool of 200 sections .* more than half of this"):
        generate_pool(parent_run, StratalTransfer(), "scruff", n_sources=2, per_source=100,
                      min_pixels=0)  # fmt: skip
