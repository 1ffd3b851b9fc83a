"""A hand-made run store for the hotspot tests: every number in it is chosen, so rankings can
be checked against the definition by hand (core), and the command line and the widget have
a small finished run to work on.

A 4 x 5 x 3 (inline, crossline, sample) volume, inlines numbered 100.., crosslines 300..
Mapped sections, in store order: inline 100, inline 102, crossline 301, crossline 303.
Classes: a (0), b (1), c (2); c is in no section, b not in inline 102.
"""

from __future__ import annotations

import numpy as np

from napari_forgetting.data.sections import Section
from napari_forgetting.runs.store import RunStore

VOLUME_SHAPE = (4, 5, 3)
CLASSES = ["a", "b", "c"]
SECTIONS = [
    Section("inline", 0, 100, (3, 5)),
    Section("inline", 2, 102, (3, 5)),
    Section("crossline", 1, 301, (3, 4)),
    Section("crossline", 3, 303, (3, 4)),
]
LABELS = [
    np.array([[0, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]]),
    np.zeros((3, 5), int),
    np.array([[0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]]),
    np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]]),
]
# forgetting events after the last epoch
EVENTS = [
    np.array([[1, 0, 0, 0, 0], [2, 0, 0, 0, 3], [1, 1, 0, 0, 0]]),
    np.array([[0, 5, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]),
    np.array([[0, 0, 0, 0], [3, 3, 0, 0], [1, 0, 0, 1]]),
    np.array([[0, 0, 2, 0], [0, 0, 0, 0], [0, 0, 0, 1]]),
]
NEVER = [np.zeros(s.shape, bool) for s in SECTIONS]
NEVER[0][2, 2] = True  # one of inline 100's five b pixels
NEVER[2][2, 1] = NEVER[2][2, 2] = True  # two of crossline 301's eight b pixels
CONFIDENCE = [np.full(s.shape, 0.9) for s in SECTIONS]
CONFIDENCE[0][LABELS[0] == 1] = [0.5, 0.7, 0.6, 0.8, 0.4]  # mean 0.6
CONFIDENCE[2][LABELS[2] == 1] = 0.75
CONFIDENCE[3][LABELS[3] == 1] = 0.95
VARIABILITY = [np.zeros(s.shape) for s in SECTIONS]
VARIABILITY[0][LABELS[0] == 1] = 0.1
VARIABILITY[2][LABELS[2] == 1] = 0.3
VARIABILITY[3][LABELS[3] == 1] = 0.2


def flat_maps(arrays, dtype):
    return np.concatenate([np.asarray(a, dtype).ravel() for a in arrays])


def make_run(path, epochs_done=2, status="finished", stats=True, events=None, train_config=None):
    """The run above: epoch 0 without any event, epoch 1 as in the tables (or ``events``,
    one array per section); ``train_config`` recorded in ``run.json`` (e.g. a seed)."""
    events = EVENTS if events is None else events
    maps = {"forgetting_events": np.uint16, "never_learned": bool, "first_learned": np.uint16}
    if stats:
        maps.update(confidence=np.float32, variability=np.float32)
    store = RunStore.create(
        path,
        eval_sections=SECTIONS,
        eval_labels=LABELS,
        maps=maps,
        epochs=2,
        volume_shape=VOLUME_SHAPE,
        class_names=CLASSES,
        train_config=train_config,
    )
    zeros = [np.zeros(s.shape) for s in SECTIONS]
    for epoch in range(epochs_done):
        last = epoch == 1
        values = {
            "forgetting_events": events if last else zeros,
            "never_learned": NEVER,
            "first_learned": zeros,
            "confidence": CONFIDENCE,
            "variability": VARIABILITY,
        }
        store.write_epoch(
            epoch,
            [lab.astype(np.uint8) for lab in LABELS],
            {name: flat_maps(values[name], dtype) for name, dtype in maps.items()},
        )
        store.commit(epoch + 1, status=status if last else "running")
    return RunStore.open(path)
