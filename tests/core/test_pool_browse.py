"""Browsing an augmented pool: lazy stacks in one order over both kinds, the targets as they
were and the difference, what the transfer changed, and what a broken pool folder says."""

from __future__ import annotations

import json
import shutil

import dask.array as da
import numpy as np
import pytest

from napari_forgetting.data.sections import Section, section_image
from napari_forgetting.workflow.augment import load_pool
from napari_forgetting.workflow.pool_browse import open_pool_browse


def test_items_in_one_order_with_their_targets(saved_pool, workflow_survey):
    pool = load_pool(saved_pool)
    browse = open_pool_browse(saved_pool)
    assert browse.no_targets is None and browse.class_name == "scruff"
    assert len(browse) == len(pool) == 6
    kinds = [browse.locate(i)[0].kind for i in range(len(browse))]
    assert set(kinds) == {"inline", "crossline"}  # both widths in one browse order
    assert kinds == sorted(kinds, key=lambda k: k != "inline")
    seen = set()
    for i in range(len(browse)):
        stack, j = browse.locate(i)
        record = stack.records[j]
        item = pool.items[record["position"]]
        seen.add(record["position"])
        assert (record["target"], record["source"], stack.kind) == (
            item.target, item.source, item.kind
        )  # fmt: skip
        np.testing.assert_array_equal(np.asarray(stack.images[j]), item.image)
        np.testing.assert_array_equal(np.asarray(stack.labels[j]), item.labels)
        target = section_image(workflow_survey, Section.from_key(item.target, workflow_survey))
        np.testing.assert_array_equal(np.asarray(stack.targets[j]), target)
        np.testing.assert_allclose(np.asarray(stack.difference[j]), item.image - target,
                                   atol=1e-5)  # fmt: skip
    assert seen == set(range(len(pool)))  # every item once
    with pytest.raises(IndexError, match="6 items; no item 7"):
        browse.locate(6)


def test_nothing_is_read_before_it_is_shown(saved_pool):
    browse = open_pool_browse(saved_pool)
    for stack in browse.stacks:
        assert isinstance(stack.images, np.memmap) and isinstance(stack.labels, np.memmap)
        assert isinstance(stack.targets, da.Array) and isinstance(stack.difference, da.Array)
        assert stack.difference.chunks[0] == (1,) * len(stack)  # one item per chunk


def test_what_the_transfer_changed(saved_pool):
    browse = open_pool_browse(saved_pool)
    pool = load_pool(saved_pool)
    for i in range(len(browse)):
        stack, j = browse.locate(i)
        item = pool.items[stack.records[j]["position"]]
        change = browse.change(i)
        region = item.labels == pool.class_id
        target = np.asarray(stack.targets[j], np.float64)
        diff = np.abs(item.image - target) / target.std()
        assert change["region_pixels"] == int(region.sum()) > 0
        assert change["inside"] == pytest.approx(diff[region].mean(), rel=1e-5)
        assert change["outside"] == pytest.approx(diff[~region].mean(), abs=1e-7)
        # the stratal transfer fills the class region only: it changed that, nothing else
        assert change["inside"] > 0.05 and change["outside"] < 1e-6
        lines = browse.describe(i).splitlines()
        assert lines[0] == (f"item {i + 1} of 6: {item.target} in the scruff style of "
                            f"{item.source}")  # fmt: skip
        assert lines[1].startswith(f"|generated - target| {change['inside']:.2f} std inside")


def test_a_zarr_only_pool_browses_the_same(saved_pool, tmp_path):
    copy = shutil.copytree(saved_pool, tmp_path / "pool")
    for npy in copy.glob("*.npy"):
        npy.unlink()
    a, b = open_pool_browse(saved_pool), open_pool_browse(copy)
    assert len(a) == len(b)
    for i in range(len(a)):
        (sa, ja), (sb, jb) = a.locate(i), b.locate(i)
        assert isinstance(sb.images, da.Array)
        np.testing.assert_array_equal(np.asarray(sb.images[jb]), np.asarray(sa.images[ja]))
        np.testing.assert_array_equal(np.asarray(sb.labels[jb]), np.asarray(sa.labels[ja]))


def test_without_its_parent_the_pool_still_browses(saved_pool, tmp_path):
    copy = shutil.copytree(saved_pool, tmp_path / "pool")
    record = json.loads((copy / "pool.json").read_text())
    record["parent_run"] = str(tmp_path / "moved-away")
    (copy / "pool.json").write_text(json.dumps(record))
    browse = open_pool_browse(copy)
    assert "the parent run's volume cannot be opened" in browse.no_targets
    assert all(s.targets is None and s.difference is None for s in browse.stacks)
    assert browse.change(0) is None and "\n" not in browse.describe(0)
    assert np.asarray(browse.stacks[0].images[0]).shape == browse.stacks[0].images.shape[1:]


def test_a_broken_pool_folder_is_named(saved_pool, tmp_path):
    with pytest.raises(FileNotFoundError, match="no augmented pool here"):
        open_pool_browse(tmp_path)
    (tmp_path / "pool.json").write_text("{not json")
    with pytest.raises(ValueError, match="pool.json: not a pool manifest"):
        open_pool_browse(tmp_path)
    (tmp_path / "pool.json").write_text(json.dumps({"kind": "comparison"}))
    with pytest.raises(ValueError, match="not an augmented pool's manifest"):
        open_pool_browse(tmp_path)
    copy = shutil.copytree(saved_pool, tmp_path / "pool")
    for f in copy.glob("augmented_inline*"):
        shutil.rmtree(f) if f.is_dir() else f.unlink()
    missing = r"augmented_inline.manifest.json: missing \(set .augmented_inline. of"
    with pytest.raises(ValueError, match=missing):
        open_pool_browse(copy)
