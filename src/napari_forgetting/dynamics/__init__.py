"""Forgetting events and other per-pixel learning dynamics (pure numpy).

Benkert, Aribido & AlRegib, "Explaining Deep Models Through Forgettable Learning Dynamics"
(ICIP 2021), Section 2.1 (forgetting events, Eq. 1-3) and 2.2 (class density, ranking).

* :mod:`.events` -- pure functions over a ``(T, ...)`` history: :func:`forgetting_events`,
  :func:`switch_events`, :func:`first_learned`, :func:`never_learned`, and the explicit
  never-learned convention (:class:`NeverLearned`, :func:`forgetting_scores`).
* :mod:`.stats` -- dataset-cartography confidence / variability and area-under-the-margin.
* :mod:`.tracker` -- :class:`ForgettingTracker`, the incremental, compact per-pixel version
  (sweep mode: one evaluation pass per epoch; online mode: training presentations): its
  update rules. Its per-pixel state, the maps read from it and its checkpoint state are
  :mod:`.tracker_state` (:class:`TrackerConfig`, ``TrackerState``); :mod:`.tracker_inputs`
  checks and converts what the updates are given.
* :mod:`.density` -- :func:`class_density`, :func:`density_table`, :func:`rank_sections`.

This layer imports numpy only. torch tensors are accepted wherever arrays are (converted
with ``.detach().cpu().numpy()``); torch, Qt, napari and the model are never imported.
"""

from napari_forgetting.dynamics.density import class_density, density_table, rank_sections
from napari_forgetting.dynamics.events import (
    NEVER_LEARNED_SENTINEL,
    NeverLearned,
    correctness,
    first_learned,
    forgetting_events,
    forgetting_scores,
    learning_events,
    never_learned,
    switch_events,
)
from napari_forgetting.dynamics.stats import (
    area_under_margin,
    cartography,
    heat_limit,
    margin_from_probs,
    softmax,
    true_class_confidence,
    true_class_margin,
)
from napari_forgetting.dynamics.tracker import ForgettingTracker
from napari_forgetting.dynamics.tracker_state import BytesPerPixel, HeatMap, TrackerConfig

__all__ = [
    "NEVER_LEARNED_SENTINEL",
    "BytesPerPixel",
    "ForgettingTracker",
    "HeatMap",
    "NeverLearned",
    "TrackerConfig",
    "area_under_margin",
    "cartography",
    "class_density",
    "correctness",
    "density_table",
    "first_learned",
    "forgetting_events",
    "forgetting_scores",
    "heat_limit",
    "learning_events",
    "margin_from_probs",
    "never_learned",
    "rank_sections",
    "softmax",
    "switch_events",
    "true_class_confidence",
    "true_class_margin",
]
