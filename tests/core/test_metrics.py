"""ConfusionMatrix and the F3 facies benchmark metrics (Alaudah et al. 2019)."""

import numpy as np
import pytest
import torch

from napari_forgetting.model.metrics import ConfusionMatrix, scores_from_matrix

# 3 classes, 10 pixels. rows = true, cols = predicted
TARGET = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
PRED = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 0])
# M = [[3, 1, 0],
#      [0, 2, 1],
#      [1, 0, 2]]


def test_hand_computed():
    cm = ConfusionMatrix(3).update(TARGET.reshape(2, 5), PRED.reshape(2, 5))
    np.testing.assert_array_equal(cm.matrix, [[3, 1, 0], [0, 2, 1], [1, 0, 2]])
    assert cm.matrix.dtype == np.int64
    s = cm.compute()
    assert s["n_pixels"] == 10
    assert s["pixel_accuracy"] == pytest.approx(7 / 10)
    np.testing.assert_allclose(s["class_accuracy"], [3 / 4, 2 / 3, 2 / 3])
    assert s["mean_class_accuracy"] == pytest.approx((3 / 4 + 2 / 3 + 2 / 3) / 3)
    # IoU_i = M_ii / (row_i + col_i - M_ii): rows (4, 3, 3), cols (4, 3, 3)
    iou = [3 / (4 + 4 - 3), 2 / (3 + 3 - 2), 2 / (3 + 3 - 2)]
    np.testing.assert_allclose(s["iou"], iou)
    assert s["mean_iou"] == pytest.approx(np.mean(iou))
    assert s["fw_iou"] == pytest.approx(0.4 * iou[0] + 0.3 * iou[1] + 0.3 * iou[2])


def test_absent_classes_are_nan_and_excluded():
    # 4 classes: class 3 never appears; class 2 is predicted but never true
    target = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])
    s = ConfusionMatrix(4).update(target, pred).compute()
    ca, iou = s["class_accuracy"], s["iou"]
    assert np.isnan(ca[3]) and np.isnan(iou[3])  # absent from both
    assert np.isnan(ca[2]) and iou[2] == 0.0  # predicted only: recall undefined, IoU penalised
    np.testing.assert_allclose(ca[:2], [0.5, 1.0])
    np.testing.assert_allclose(iou[:2], [0.5, 1.0])
    assert s["mean_class_accuracy"] == pytest.approx(0.75)
    assert s["mean_iou"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert s["fw_iou"] == pytest.approx(0.5 * 0.5 + 0.5 * 1.0)
    assert s["pixel_accuracy"] == pytest.approx(0.75)


def test_empty_matrix_is_nan():
    s = ConfusionMatrix(3).compute()
    for key in ("pixel_accuracy", "mean_class_accuracy", "mean_iou", "fw_iou"):
        assert np.isnan(s[key])
    assert np.isnan(s["iou"]).all() and s["n_pixels"] == 0


def test_ignore_index_and_validation():
    cm = ConfusionMatrix(3)
    cm.update(np.array([0, 255, 2]), np.array([0, 9, 1]), ignore_index=255)
    np.testing.assert_array_equal(cm.matrix, [[1, 0, 0], [0, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match="target labels"):
        cm.update(np.array([3]), np.array([0]))
    with pytest.raises(ValueError, match="predicted labels"):
        cm.update(torch.tensor([0]), torch.tensor([-1]))
    with pytest.raises(ValueError, match="shape"):
        cm.update(np.zeros((2, 2), int), np.zeros(4, int))
    with pytest.raises(TypeError, match="integer"):
        cm.update(np.zeros(3, int), np.zeros(3))
    assert cm.n_pixels == 2


def test_torch_and_numpy_agree():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 6, size=(2, 7, 9))
    p = rng.integers(0, 6, size=(2, 7, 9)).astype(np.uint8)
    a = ConfusionMatrix(6).update(t, p)
    b = ConfusionMatrix(6).update(torch.from_numpy(t), torch.from_numpy(p))
    np.testing.assert_array_equal(a.matrix, b.matrix)


def test_merge_equals_one_update():
    rng = np.random.default_rng(2)
    t = rng.integers(0, 6, size=(4, 11, 13))
    p = rng.integers(0, 6, size=(4, 11, 13))
    whole = ConfusionMatrix(6).update(t, p)
    parts = [ConfusionMatrix(6).update(t[i], p[i]) for i in range(4)]
    merged = parts[0]
    for other in parts[1:]:
        merged.merge(other)
    np.testing.assert_array_equal(merged.matrix, whole.matrix)
    with pytest.raises(ValueError):
        merged.merge(ConfusionMatrix(5))
    merged.reset()
    assert merged.n_pixels == 0


def test_state_dict_round_trip():
    cm = ConfusionMatrix(3).update(TARGET, PRED)
    state = cm.state_dict()
    back = ConfusionMatrix.from_state_dict(state)
    np.testing.assert_array_equal(back.matrix, cm.matrix)
    state["matrix"][0, 0] = 99  # a copy: the original is untouched
    assert cm.matrix[0, 0] == 3
    torch_state = {"n_classes": 3, "matrix": torch.from_numpy(cm.matrix)}
    np.testing.assert_array_equal(ConfusionMatrix.from_state_dict(torch_state).matrix, cm.matrix)
    with pytest.raises(ValueError):
        ConfusionMatrix(4).load_state_dict(state)


def test_random_against_direct_numpy():
    rng = np.random.default_rng(3)
    n = 6
    t = rng.integers(0, n - 1, size=5000)  # class 5 never true
    p = rng.integers(0, n, size=5000)
    s = ConfusionMatrix(n).update(t, p).compute()
    m = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            m[i, j] = np.sum((t == i) & (p == j))
    assert s["pixel_accuracy"] == pytest.approx(np.mean(t == p))
    ca = np.array([np.mean(p[t == i] == i) if np.any(t == i) else np.nan for i in range(n)])
    iou = np.array([np.sum((t == i) & (p == i)) / np.sum((t == i) | (p == i)) for i in range(n)])
    np.testing.assert_allclose(s["class_accuracy"], ca)
    np.testing.assert_allclose(s["iou"], iou)
    assert s["mean_class_accuracy"] == pytest.approx(np.nanmean(ca))
    assert s["mean_iou"] == pytest.approx(iou.mean())
    freq = np.array([np.mean(t == i) for i in range(n)])
    assert s["fw_iou"] == pytest.approx(np.sum(freq * iou))
    np.testing.assert_allclose(scores_from_matrix(m)["iou"], iou)
