"""Method comparison: the paper's Table 1 and Fig. 5, every (method, seed) a dask task.

The package's modules: :mod:`.config` (methods, controls, contrasts, presets),
:mod:`.jobs` (the job functions and the job graph), :mod:`.scheduling` (in this process or
on a dask cluster), :mod:`.run` (a whole comparison), :mod:`.metrics` (what a finished job
measured), :mod:`.paired` (paired intervals, detectable effects), :mod:`.fates` (where
the methods forget), :mod:`.report`, :mod:`.tables` (its text), :mod:`.figure` (Fig. 5) and
:mod:`.maps` (the heat maps section by section, for the figure and the napari dock).

Methods: ``baseline`` (no augmentation), ``flip`` (random left-right flips), ``rotate``
(random rotations) and ``transfer`` (the support-vector augmentation: the baseline run of the
same seed -> its forgetting hotspots of class ``cls`` -> an augmented pool of style
transfers -> training from scratch on the training sections plus the pool). Controls for
the mechanism: ``identity`` (the same pool targets untransferred), ``random-sources``
(styles from random eligible sections), ``consensus-sources`` (styles from the hotspots of
the baseline's consensus over the seeds); null controls: ``reinit`` and ``redraw`` (the
baseline with another initialisation, or other training draws).

Every (method, seed) trains from scratch as one task on a ``dask.distributed`` cluster (a
``LocalCluster`` of single-threaded worker processes by default, or an existing scheduler).
Tasks receive the data's ``source`` record (:mod:`.data`) and reopen the volume themselves:
no volume is ever shipped. A ``transfer`` task depends on the baseline task of its seed and
on the transfer-model task (trained once, unless a checkpoint is given); the dependencies are
futures. Failed tasks are retried (``retries``) and then reported, never dropped; jobs whose
run store in ``<out>/jobs/<method>-seed<k>/`` is finished are not submitted again
(resumable), and an interrupted one resumes from its checkpoint.

Report (``<out>/``, every file written atomically), one row per method and split (``test``:
every test volume's pixels together; ``test1``, ``test2``; ``validation``):

* ``accuracy.csv`` / Table 1 in ``report.md`` -- per-class accuracy after the last epoch,
  mean and standard deviation over seeds;
* ``forgetting.csv`` -- total and per-class forgetting events on the tracked sections
  (sums of the per-pixel event counts at the last epoch), mean and std over seeds;
* ``differences.csv`` -- each method minus the baseline of the same seed, mean and 95 %
  Student-t interval over seeds, for each class's accuracy, the mean class accuracy, and the
  total and ``cls`` forgetting events (:func:`paired_interval`);
* ``regions.csv`` -- the fate of each of the baseline's high-density forgetting regions
  under each method of the same seed (the null controls among them; without them, under
  the next seed's baseline):
  :mod:`napari_forgetting.dynamics.regions`;
* ``jobs.csv`` -- one row per (method, seed, split): status, error, accuracies, events;
* ``heatmaps.png`` -- Fig. 5: forgetting heat maps of the same sections under each method
  (seed of the lowest number finished for every method), one colour scale per section, the
  baseline's regions outlined.

:data:`PRESETS` (``compare --preset``) are whole comparisons: ``tiny`` (the plumbing),
``cpu-lite`` (2 CPU cores, under an hour), ``paper`` (F3 size, for a GPU or a cluster).

No Qt or napari here; matplotlib is used through its Agg canvas only.
"""

from napari_forgetting.workflow.compare.config import (
    CONTRASTS,
    ENDPOINTS,
    JOBS_DIR,
    METHODS,
    NULL_CONTROLS,
    POOL_ARMS,
    POOLS_DIR,
    PRESETS,
    REPORT_FILE,
    TEST_SPLIT,
    TRANSFER_DIR,
    CompareConfig,
    job_name,
    pool_dir_name,
    preset_config,
)
from napari_forgetting.workflow.compare.fates import region_fate_table, region_tables
from napari_forgetting.workflow.compare.jobs import build_jobs
from napari_forgetting.workflow.compare.metrics import (
    absent_classes,
    display_names,
    job_metrics,
    style_sources,
)
from napari_forgetting.workflow.compare.paired import PAPER_EFFECT, detectable, paired_interval
from napari_forgetting.workflow.compare.report import write_report
from napari_forgetting.workflow.compare.run import (
    CompareResult,
    RefusedBeforeJobs,
    execute_jobs,
    run_comparison,
)
from napari_forgetting.workflow.compare.scheduling import (
    Execution,
    JobSpec,
    SchedulerError,
    dashboard_line,
    run_jobs,
    scheduler_client,
)

__all__ = [
    "CONTRASTS",
    "ENDPOINTS",
    "NULL_CONTROLS",
    "JOBS_DIR",
    "METHODS",
    "PAPER_EFFECT",
    "POOLS_DIR",
    "POOL_ARMS",
    "PRESETS",
    "REPORT_FILE",
    "TEST_SPLIT",
    "TRANSFER_DIR",
    "CompareConfig",
    "CompareResult",
    "Execution",
    "JobSpec",
    "RefusedBeforeJobs",
    "SchedulerError",
    "absent_classes",
    "build_jobs",
    "dashboard_line",
    "detectable",
    "display_names",
    "execute_jobs",
    "job_metrics",
    "job_name",
    "paired_interval",
    "pool_dir_name",
    "preset_config",
    "region_fate_table",
    "region_tables",
    "run_comparison",
    "run_jobs",
    "scheduler_client",
    "style_sources",
    "write_report",
]
