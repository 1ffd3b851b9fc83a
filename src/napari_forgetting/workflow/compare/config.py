"""What a comparison compares: its methods, controls and contrasts, its configuration and
the presets (``compare --preset``), and the names of its jobs and folders."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from napari_forgetting.data.synthetic import DEFAULT_SHAPE
from napari_forgetting.dynamics.ranking import DEFAULT_MIN_PIXELS

METHODS = (
    "baseline", "flip", "rotate", "transfer", "identity", "random-sources",
    "consensus-sources", "reinit", "redraw",
)  # fmt: skip
#: The arms that retrain on a pool: the transfer and its controls for the mechanism (the
#: same targets untransferred; styles from random sections; styles from the consensus of
#: the baseline's seeds instead of the seed's own hotspots).
POOL_ARMS = ("transfer", "identity", "random-sources", "consensus-sources")
#: The pool arms that transfer styles (all but ``identity``): they need the transfer method
#: and their style sources are left out of validation figures.
TRANSFER_ARMS = tuple(m for m in POOL_ARMS if m != "identity")
#: The null controls: the baseline again with one random stream changed -- ``reinit``
#: another initialisation and the same training draws, ``redraw`` the same initialisation
#: and other draws. What a difference from the baseline is when no treatment is applied,
#: and the control of the forgetting regions' fates.
NULL_CONTROLS = ("reinit", "redraw")
#: How far the null controls move their stream's seed (seed ``k`` -> ``k + CONTROL_OFFSET``:
#: never another arm's seed in a comparison of fewer seeds).
CONTROL_OFFSET = 1000
#: The contrasts the paper's claim needs, each arm minus another of the same seed: the
#: style (transfer vs the same targets untransferred) and the selection (hotspot sources
#: vs random ones; the seed's own hotspots vs the seeds' consensus).
CONTRASTS = (
    ("transfer", "identity"), ("transfer", "random-sources"),
    ("transfer", "consensus-sources"),
)  # fmt: skip
#: The run ``consensus-sources`` takes its style sources from: the baseline's consensus over
#: the comparison's seeds (``runs.consensus``), built once the baselines are finished.
CONSENSUS_JOB = "consensus"
#: Endpoints a comparison can name primary (``CompareConfig.primary``): ``probability``,
#: the mean true-class probability over the class's pixels of every test section after the
#: last epoch; ``tracked``, the same on the tracked test sections averaged over the last
#: ``last_k`` epochs (less of one epoch's luck).
ENDPOINTS = ("probability", "tracked")
JOBS_DIR = "jobs"
TRANSFER_DIR = "transfer_model"
#: What ``write_report`` records of the comparison for readers of the folder (class,
#: methods, seeds: :class:`~.maps.ComparisonMaps`).
REPORT_FILE = "compare.json"
POOLS_DIR = "pools"
DONE_FILE = "done.json"
#: The split of every test volume's pixels together (test1 + test2).
TEST_SPLIT = "test"


@dataclass
class CompareConfig:
    """What to compare and how each run trains.

    ``data``/``labels``/``shape``/``data_seed``/``iline``/``xline``: as ``train``'s options
    (:func:`.data.load_data`). ``train``: :class:`~..model.trainer.TrainConfig` fields shared
    by every job (the method sets ``augment`` and the seed ``seed``). ``transfer_checkpoint``:
    a trained transfer model; without one a model is trained once (``transfer`` holds
    :class:`~..transfer.TransferConfig` overrides). ``cls``, ``n_sources``, ``per_source``:
    the augmented pool (class, hotspot sources, transfers per source). ``transfer_method``:
    ``learned`` (the model above, the default) or ``stratal`` (training-free, no model). The
    method is
    measured on the held-out sections before each pool is made and refused below the bar
    unless ``force`` (:func:`~.augment.check_transfer`); style sources hold at least
    ``min_pixels`` of the class. ``retries``: extra attempts of a failed task. ``preset``:
    the name of the :data:`PRESETS` entry it was made from (:func:`preset_config`), or
    ``None``. ``sources_from``: a run (e.g. a consensus over seeds, ``napari-forgetting
    consensus``) whose ranking gives every transfer job its style sources, instead of the
    baseline run of the job's own seed. ``primary``: the endpoint named primary in the
    report (:data:`ENDPOINTS`), chosen before any arm runs (a preset's is chosen on its
    baseline alone); ``last_k``: the epochs the ``tracked`` endpoint averages.
    """

    data: str = "synthetic"
    labels: str | None = None
    shape: tuple[int, int, int] = DEFAULT_SHAPE
    data_seed: int = 0
    iline: int = 189
    xline: int = 193
    methods: tuple[str, ...] = METHODS
    seeds: int = 5
    train: dict[str, Any] = field(default_factory=dict)
    transfer_checkpoint: str | None = None
    transfer: dict[str, Any] = field(default_factory=dict)
    cls: str = "scruff"
    n_sources: int = 6
    per_source: int = 64
    transfer_method: str | None = None
    force: bool = False
    min_pixels: int = DEFAULT_MIN_PIXELS
    retries: int = 1
    preset: str | None = None
    sources_from: str | None = None
    primary: str = "probability"
    last_k: int = 10

    def __post_init__(self) -> None:
        self.methods = tuple(m.strip() for m in self.methods if m.strip())
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise ValueError(f"unknown methods {bad}; choose from {', '.join(METHODS)}")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods repeated: {self.methods}")
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")
        if "consensus-sources" in self.methods and self.seeds < 2:
            raise ValueError("consensus-sources needs a consensus over 2 or more seeds")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries}")
        from napari_forgetting.transfer import method_choice

        self.transfer_method = method_choice(
            self.transfer_method or "learned", bool(self.transfer_checkpoint)
        )
        if self.primary not in ENDPOINTS:
            raise ValueError(f"primary must be one of {ENDPOINTS}, got {self.primary!r}")
        if self.last_k < 1:
            raise ValueError(f"last_k must be >= 1, got {self.last_k}")
        if self.min_pixels < 0:
            raise ValueError(f"min_pixels must be >= 0, got {self.min_pixels}")
        self.shape = tuple(int(n) for n in self.shape)  # type: ignore[assignment]


#: ``compare --preset NAME``: whole comparisons, the same code with other numbers.
#: CompareConfig fields; ``train`` holds TrainConfig fields, ``transfer`` TransferConfig
#: overrides (``{}``: ``transfer-train``'s defaults, the model measured above the bar).
PRESETS: dict[str, dict[str, Any]] = {
    # the plumbing in seconds (the suite's end-to-end test): nothing is learned, and its
    # transfer model, trained for one epoch, is forced past the quality bar
    "tiny": {
        "data": "synthetic",
        "shape": (8, 12, 32),
        "data_seed": 2,
        "seeds": 2,
        "train": {
            "epochs": 2,
            "batch_size": 4,
            "patch_size": [32, 32],
            "patches_per_epoch": 4,
            "lr": 3e-3,
            "num_threads": 1,
        },
        "transfer": {
            "epochs": 1,
            "ngf": 8,
            "style_dim": 8,
            "encoder_width": 8,
            "patch_size": [32, 32],
            "patches_per_epoch": 16,
            "eval_sections": 1,
        },
        "n_sources": 1,
        "per_source": 2,
        "min_pixels": 1,
        "force": True,
    },
    # the paper's comparison on 2 CPU cores within an hour (README, "The paper's comparison
    # at CPU scale"): its budget was set on the baseline arm alone
    "cpu-lite": {
        "data": "synthetic",
        "shape": (32, 64, 128),
        "data_seed": 0,
        "seeds": 3,
        "train": {
            "epochs": 16,
            "batch_size": 8,
            "patch_size": [64, 64],
            "patches_per_epoch": 96,
            "lr": 1e-3,
            "num_threads": 1,
        },
        "transfer": {},
        "n_sources": 6,
        "per_source": 16,
    },
    # a comparison that can decide, on 2 CPU cores in about 50 minutes (docs: "The
    # comparison that can decide, run"). Designed on the baseline alone: the baseline and
    # its reinit control (the same draws, another initialisation), seeds 1-3, 60 epochs
    # (python benchmarks/design_preset.py --out DIR --seeds 1 2 3 --epochs 60). The paired
    # SD of reinit - baseline on the tracked Scruff endpoint *grows* towards the plateau
    # (0.13 at 60 epochs, last 10 epochs: 5 seeds detect 0.22, 0.10 needs ~15 seeds) as the
    # runs settle into different solutions for Scruff on the test geology; over the last 30
    # of 40 epochs it is 0.032 (4 seeds detect ~0.07). So: 40 epochs (not a plateau: the
    # baseline's tracked test Scruff is still rising, 0.31-0.43), the last 30 averaged,
    # 4 seeds; >= 18 validation sections hold 128 Scruff pixels on geologies 0, 1 and 5.
    # Run (docs): the treatment spreads the seeds more than the null control did -- a pool
    # tips some seeds' runs into another solution for Scruff -- so on geology 0 the main
    # contrast's MDE was 0.103 on 4 seeds, 0.189 on 5 and 0.065 on 13 (--methods
    # baseline,transfer --seeds 13); on geology 5, 0.082 on 4.
    # The arms are the mechanism's (flip and rotate are cpu-lite's; --methods adds them);
    # the stratal transfer: training-free, it meets the bar on geologies 0-7.
    "cpu-decide": {
        "data": "synthetic",
        "shape": (64, 96, 128),
        "data_seed": 0,
        "seeds": 4,
        "methods": (
            "baseline",
            "transfer",
            "identity",
            "random-sources",
            "consensus-sources",
            "reinit",
        ),  # fmt: skip
        "train": {
            "epochs": 40,
            "batch_size": 8,
            "patch_size": [64, 64],
            "patches_per_epoch": 192,
            "lr": 1e-3,
            "num_threads": 1,
        },
        "transfer": {},
        "transfer_method": "stratal",
        "n_sources": 6,
        "per_source": 16,
        "min_pixels": 128,
        "primary": "tracked",
        "last_k": 30,
    },
    # the paper's numbers, for a GPU or a dask cluster (--scheduler): F3's size (or --data
    # the F3 benchmark's train_seismic.npy), 60 epochs, 5 seeds, 6 sources x 64 transfers
    "paper": {
        "data": "synthetic",
        "shape": (401, 701, 255),
        "data_seed": 0,
        "seeds": 5,
        "train": {"epochs": 60},
        "transfer": {},
        "n_sources": 6,
        "per_source": 64,
    },
}


def preset_config(name: str, **overrides: Any) -> CompareConfig:
    """The :data:`PRESETS` entry ``name`` as a :class:`CompareConfig`, ``overrides``
    replacing its fields (``train`` and ``transfer`` are merged key by key)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    base = json.loads(json.dumps(PRESETS[name]))  # a deep copy
    train = {**base.pop("train", {}), **(overrides.pop("train", None) or {})}
    transfer = {**base.pop("transfer", {}), **(overrides.pop("transfer", None) or {})}
    base["shape"] = tuple(base["shape"])
    return CompareConfig(**{**base, **overrides, "train": train, "transfer": transfer,
                            "preset": name})  # fmt: skip


def job_name(method: str, seed: int) -> str:
    return f"{method}-seed{seed}"


def pool_dir_name(variant: str, seed: int) -> str:
    """The pool folder of a pool arm under ``pools/``: ``seed<k>`` for the transfer,
    ``<control>-seed<k>`` for a control."""
    return f"seed{seed}" if variant == "transfer" else job_name(variant, seed)
