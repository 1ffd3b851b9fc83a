"""A deterministic, F3-like synthetic facies benchmark (seismic volume + six-class labels).

The real F3 Netherlands facies benchmark (Alaudah et al. 2019) cannot be downloaded here, so
:func:`make_f3_like` builds a survey that behaves like it: the same six units in the same
stratigraphic order and roughly the same class proportions (upper N.S. ~0.28, middle N.S.
~0.12, lower N.S. ~0.40, Rijnland/Chalk ~0.08, Scruff ~0.03, Zechstein ~0.09), a convolutional
seismic response (Ricker wavelet, 4 ms sampling) and noise, so that unit boundaries and thin
units are genuinely hard to segment.

Geology (all geometry in coordinates normalised by the survey size, so a small volume looks
like a decimated large one; reflector textures are in trace / sample units):

* unit boundaries are smooth folded surfaces (random low-frequency sinusoids over inline and
  crossline), with salt domes (anisotropic bumps) at the base pushing up the top of the
  Zechstein and, decreasingly, the boundaries above it;
* a few steep normal faults offset everything below their upper tip by a throw that grows
  with depth (the hanging wall, above the fault plane, goes down);
* each unit has its own reflection character: upper N.S. continuous parallel reflectors,
  middle N.S. chaotic and low amplitude, lower N.S. high-amplitude sigmoidal clinoforms,
  Rijnland/Chalk a bright, high-impedance continuous unit with a strong top, Scruff a thin
  discontinuous wedge that pinches out laterally (absent in part of the survey), Zechstein
  transparent salt (near-constant impedance);
* reflectivity along the sample axis is convolved with a zero-phase Ricker wavelet; band-
  limited and white noise are added.

**Label invariant** — for every trace, the labels along the sample axis are non-decreasing:
the units are stacked in class-id order (0 at the top ... 5 at the bottom), each unit appears
at most once per trace, and a unit may be missing (Scruff where it pinches out, the top
units where a trace starts below them). This holds everywhere, across faults and over domes:
labels are computed from a restored depth that is made monotone along every trace.

Everything here is numpy only (no torch / Qt / napari). Generation works in slabs of
inlines, so the full F3 size ``(401, 701, 255)`` fits in a few hundred MB.

Regenerate the shipped sample data with ``napari-forgetting synthetic --sample --out sample_data``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_forgetting.data.classes import F3_CLASS_NAMES
from napari_forgetting.data.writers import save_npy

__all__ = [
    "DEFAULT_SHAPE",
    "F3_DURATION_MS",
    "F3_LAYOUT",
    "F3_TRAIN_SHAPE",
    "SyntheticBenchmark",
    "benchmark_shapes",
    "make_f3_benchmark",
    "write_benchmark",
    "F3_PROPORTIONS",
    "SAMPLE_DATA_NAME",
    "SAMPLE_DATA_SEED",
    "SAMPLE_DATA_SHAPE",
    "SyntheticSurvey",
    "make_f3_like",
    "ricker",
    "write_sample_data",
    "write_survey",
]

#: F3's training-set class frequencies (1 - the benchmark code's class weights), class-id
#: order: upper N.S. 28.5, middle N.S. 11.9, lower N.S. 48.4, Rijnland/Chalk 6.5, Scruff 3.2,
#: Zechstein 1.5 %. The generator aims at them at every shape.
F3_PROPORTIONS: tuple[float, ...] = (0.285, 0.119, 0.484, 0.065, 0.032, 0.015)
_TARGET_PROPORTIONS = F3_PROPORTIONS

#: F3's vertical extent: its 255 samples at 4 ms. A synthetic volume of any sample count spans
#: it, so fewer samples are a coarser sampling of the same geology, not a thinner one.
F3_DURATION_MS = 1020.0
#: The geology is rendered at least this finely (ms) and averaged over each output sample.
_RENDER_DT_MS = 4.0

#: The shipped sample data: name, seed and shape (inline, crossline, sample).
SAMPLE_DATA_NAME = "f3_synthetic"
SAMPLE_DATA_SEED = 0
SAMPLE_DATA_SHAPE: tuple[int, int, int] = (48, 96, 128)
#: The shape ``make_f3_like`` and ``--data synthetic`` make unless told otherwise.
DEFAULT_SHAPE: tuple[int, int, int] = (64, 96, 128)

_N_CLASSES = len(F3_CLASS_NAMES)
_FIRST_INLINE = 100
_FIRST_CROSSLINE = 300
_SLAB_VOXELS = 1 << 20  # voxels processed at a time (memory / speed trade-off)
_SHARE_GRID = 1024  # depths at which a fault's hanging-wall share is tabulated

# Acoustic impedance levels per unit (arbitrary units, ~ km/s * g/cc). Chalk grades down from
# bright (top) to dull (base) and Scruff sits between the lower N.S. and the chalk's base, so
# the chalk/Scruff boundary is strong in places and invisible in others: Scruff is found by
# its texture and its place between chalk and salt together, not by one bright edge.
_IMP_UPPER = 4.4
_IMP_MIDDLE = 5.6
_IMP_LOWER = 6.3
_IMP_CHALK = 9.2
_CHALK_GRADING = 1.6  # impedance lost from the chalk's top to its base
_IMP_SCRUFF = 7.5
#: Lateral spread of Scruff's facies: log-amplitude and log-bed-thickness std, chaos logit scale.
SCRUFF_STYLE_SPREAD = (0.5, 0.7, 2.0)
_IMP_SALT = 8.6


@dataclass(frozen=True, eq=False)
class SyntheticSurvey:
    """A synthetic survey: seismic amplitudes, facies labels and their geometry.

    ``seismic`` is float32 and ``labels`` uint8, both shaped (inline, crossline, sample);
    ``inlines`` / ``crosslines`` are the line numbers, ``samples`` the sample times in ms.
    """

    seismic: np.ndarray
    labels: np.ndarray
    inlines: np.ndarray
    crosslines: np.ndarray
    samples: np.ndarray
    class_names: tuple[str, ...]
    seed: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """(inline, crossline, sample) sizes."""
        return tuple(int(n) for n in self.seismic.shape)  # type: ignore[return-value]

    @property
    def sample_interval(self) -> float:
        """Sample interval in ms."""
        return float(self.samples[1] - self.samples[0]) if len(self.samples) > 1 else 4.0

    def class_proportions(self) -> np.ndarray:
        """Fraction of voxels per class id (float64, length 6)."""
        counts = np.bincount(self.labels.ravel(), minlength=len(self.class_names))
        return counts / max(1, self.labels.size)


# ----------------------------------------------------------------------------------------------
# small numerical helpers
# ----------------------------------------------------------------------------------------------


def ricker(freq_hz: float = 25.0, dt_ms: float = 4.0, half_length: int | None = None) -> np.ndarray:
    """Zero-phase Ricker wavelet (peak 1 at the centre sample), float64, odd length."""
    if freq_hz <= 0 or dt_ms <= 0:
        raise ValueError("ricker: freq_hz and dt_ms must be positive")
    dt = dt_ms / 1000.0
    if half_length is None:
        half_length = max(1, int(math.ceil(3.5 / (math.pi * freq_hz * dt))))
    t = np.arange(-half_length, half_length + 1) * dt
    a = (math.pi * freq_hz * t) ** 2
    return (1.0 - 2.0 * a) * np.exp(-a)


def _convolve_samples(x: np.ndarray, wavelet: np.ndarray) -> np.ndarray:
    """'same' convolution of ``x`` along its last axis with a centred odd-length wavelet."""
    ns = x.shape[-1]
    half = (len(wavelet) - 1) // 2
    nfft = 1 << int(math.ceil(math.log2(ns + len(wavelet))))
    spec = np.fft.rfft(x, n=nfft, axis=-1)
    spec *= np.fft.rfft(wavelet.astype(x.dtype), n=nfft)
    return np.fft.irfft(spec, n=nfft, axis=-1)[..., half : half + ns].astype(np.float32)


def _smoothstep(w: np.ndarray) -> np.ndarray:
    return w * w * (3.0 - 2.0 * w)


class _ValueNoise:
    """Smooth, periodic random field on a coarse lattice (value noise), any dimension.

    Evaluated at float coordinates given in lattice units divided by ``spacing``; zero mean,
    unit variance at lattice nodes.
    """

    def __init__(self, rng: np.random.Generator, extent: Sequence[float], spacing: Sequence[float]):
        self.spacing = tuple(float(s) for s in spacing)
        self.dims = tuple(
            max(2, int(math.ceil(e / s)) + 2) for e, s in zip(extent, spacing, strict=True)
        )
        self.grid = rng.standard_normal(self.dims).astype(np.float32)

    def __call__(self, *coords: np.ndarray) -> np.ndarray:
        idx0, weights = [], []
        for c, s, n in zip(coords, self.spacing, self.dims, strict=True):
            f = np.asarray(c, dtype=np.float32) / np.float32(s)
            fl = np.floor(f)
            weights.append(_smoothstep(f - fl))
            idx0.append(fl.astype(np.int64) % n)
        out = None
        ndim = len(coords)
        for corner in range(1 << ndim):
            idx, w = [], None
            for d in range(ndim):
                bit = (corner >> d) & 1
                idx.append((idx0[d] + bit) % self.dims[d] if bit else idx0[d])
                wd = weights[d] if bit else 1.0 - weights[d]
                w = wd if w is None else w * wd
            term = self.grid[tuple(idx)] * w
            out = term if out is None else out + term
        return out.astype(np.float32)


class _Layering:
    """A random 1-D layered series (blocky, lightly smoothed), zero mean and unit variance.

    ``mean_thick`` and ``smooth`` are in the units of the coordinate it is evaluated at.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        t_min: float,
        t_max: float,
        mean_thick: float,
        smooth: float,
        correlation: float = 0.3,
    ):
        step = min(mean_thick, smooth) / 6.0
        n = int(math.ceil((t_max - t_min) / step)) + 1
        self.t = t_min + step * np.arange(n)
        thick = mean_thick * (0.35 + rng.gamma(2.0, 0.65 / 2.0, size=n // 2 + 8))
        edges = t_min + np.cumsum(thick)
        vals = np.empty(len(edges) + 1)
        vals[0] = rng.standard_normal()
        shocks = rng.standard_normal(len(edges))
        for k in range(1, len(vals)):  # small loop (number of layers)
            vals[k] = correlation * vals[k - 1] + math.sqrt(1 - correlation**2) * shocks[k - 1]
        series = vals[np.searchsorted(edges, self.t)]
        sig = smooth / step
        half = int(math.ceil(3 * sig))
        kern = np.exp(-0.5 * (np.arange(-half, half + 1) / sig) ** 2)
        kern /= kern.sum()
        padded = np.pad(series, half, mode="edge")
        series = np.convolve(padded, kern, mode="valid")
        series = (series - series.mean()) / (series.std() + 1e-12)
        self.v = series

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self.t, self.v).astype(np.float32)


def _bisect(f: Callable[[float], float], target: float, lo: float = -1.5, hi: float = 1.5) -> float:
    """Offset ``o`` in [lo, hi] with ``f(o) == target`` for a non-decreasing ``f``."""
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ----------------------------------------------------------------------------------------------
# the geological model
# ----------------------------------------------------------------------------------------------


class _Model:
    """Random geology for one (shape, seed): surfaces, faults, unit textures.

    Depth ``z`` is normalised to [0, 1] over the survey's vertical extent; vertical textures
    are laid out in ``zscale`` units over that extent (F3 samples of 4 ms: 255 for F3's
    1020 ms), so they do not depend on the sample count the volume is rendered at.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        seed: int,
        n_faults: int,
        n_domes: int,
        zscale: float,
        calibrate: tuple[int, int] | None = None,
    ):
        """``calibrate``: the (inlines, crosslines) corner of the survey whose class
        proportions are set to F3's (default: all of it; the training part of a benchmark
        layout)."""
        ni, nx, _ = shape
        self.shape = shape
        ns = self.zscale = float(zscale)
        streams = np.random.SeedSequence(seed).spawn(6)  # one stream per component
        r_fold, r_dome, r_fault, r_scruff, r_tex, r_layer = (
            np.random.default_rng(s) for s in streams
        )

        # normalised lateral coordinates: the longer side spans [0, 1]
        self.lh = float(max(ni, nx))
        self.x = ((np.arange(ni) + 0.5) / self.lh).astype(np.float64)
        self.y = ((np.arange(nx) + 0.5) / self.lh).astype(np.float64)
        xg, yg = np.meshgrid(self.x, self.y, indexing="ij")
        ex, ey = ni / self.lh, nx / self.lh

        def folds(rng: np.random.Generator, n: int, amp: float, lmin: float, lmax: float):
            f = np.zeros_like(xg)
            for _ in range(n):
                ang = rng.uniform(0, np.pi)
                lam = rng.uniform(lmin, lmax)
                ph = rng.uniform(0, 2 * np.pi)
                a = rng.uniform(0.5, 1.0) * amp
                f += a * np.sin(2 * np.pi * (np.cos(ang) * xg + np.sin(ang) * yg) / lam + ph)
            return f

        regional = folds(r_fold, 4, 0.016, 0.5, 1.6)
        own = [folds(r_fold, 3, 0.006, 0.25, 0.8) for _ in range(5)]

        # salt domes / pillows: anisotropic super-gaussian bumps at the base
        dome = np.zeros_like(xg)
        for _ in range(n_domes):
            cx, cy = r_dome.uniform(0.1, 0.9) * ex, r_dome.uniform(0.1, 0.9) * ey
            sig = r_dome.uniform(0.05, 0.09)
            aspect = r_dome.uniform(1.0, 2.2)
            ang = r_dome.uniform(0, np.pi)
            h = r_dome.uniform(0.12, 0.2)
            du = (xg - cx) * np.cos(ang) + (yg - cy) * np.sin(ang)
            dv = -(xg - cx) * np.sin(ang) + (yg - cy) * np.cos(ang)
            r2 = (du / (sig * aspect)) ** 2 + (dv / sig) ** 2
            dome = np.maximum(dome, h * np.exp(-(r2**1.4)))
        dome_n = dome / max(dome.max(), 1e-9)

        # scruff: a wedge thickening along a random direction, pinching out on the other side,
        # with a wavy pinch-out line and a few holes (discontinuous)
        psi = r_scruff.uniform(0, 2 * np.pi)
        q = np.cos(psi) * xg + np.sin(psi) * yg
        q = (q - q.min()) / max(q.max() - q.min(), 1e-9)
        q0 = r_scruff.uniform(0.3, 0.42)
        wav = _ValueNoise(r_scruff, (ex, ey), (0.15, 0.15))(xg, yg) * 0.12
        holes = _ValueNoise(r_scruff, (ex, ey), (0.07, 0.07))(xg, yg)
        wedge = np.clip((q - q0 + wav) / (1 - q0), 0, None) ** 0.8
        wedge *= np.clip((holes + 1.3) * 2.0, 0, 1) * (1 - 0.6 * dome_n)

        target = np.cumsum(_TARGET_PROPORTIONS)[:-1]  # mean depth of the five boundaries

        ci, cx = (ni, nx) if calibrate is None else calibrate
        part = (slice(0, ci), slice(0, cx))  # where the proportions are set

        def mean_clip(z: np.ndarray) -> float:
            return float(np.clip(z[part], 0, 1).mean())

        # top of Zechstein (Z4): folded, pushed up by the domes
        z4_shape = 1.1 * regional + own[4] - dome
        o4 = _bisect(lambda o: mean_clip(z4_shape + o), target[4])
        z4 = z4_shape + o4  # below the survey (> 1) where the salt is deeper than its base

        def visible(top: np.ndarray, base: np.ndarray) -> float:
            """Mean thickness of a unit between two surfaces, inside the survey."""
            return float((np.clip(base[part], 0, 1) - np.clip(top[part], 0, 1)).mean())

        def scaled(thickness: np.ndarray, base: np.ndarray, share: float) -> np.ndarray:
            """``thickness * c`` with ``c`` such that the unit above ``base`` fills ``share``
            of the survey (part of it may lie below the survey's base)."""
            c = _bisect(lambda c: visible(base - c * thickness, base), share, 0.0, 50.0)
            return c * thickness

        # at most 3x its mean thickness anywhere: a layout's test parts, beyond the calibrated
        # training part, keep F3-like amounts of Scruff too
        wedge = np.minimum(wedge / max(wedge[part].mean(), 1e-9), 3.0)
        scr = scaled(wedge, z4, _TARGET_PROPORTIONS[4])
        z3 = z4 - scr
        chalk = (1 + own[3] * 6) * (1 - 0.35 * dome_n)
        chalk = np.clip(chalk, 0.3, None)
        chalk = scaled(chalk / chalk[part].mean(), z3, _TARGET_PROPORTIONS[3])
        z2 = z3 - chalk
        # lower N.S. drapes the domes partially (it thins over them), keeps >= 6 % thickness
        z1_shape = regional + own[1] - 0.35 * dome
        o1 = _bisect(lambda o: mean_clip(np.minimum(z1_shape + o, z2 - 0.06)), target[1])
        z1 = np.minimum(z1_shape + o1, z2 - 0.06)
        z0_shape = 0.6 * regional + own[0] - 0.12 * dome
        o0 = _bisect(lambda o: mean_clip(np.minimum(z0_shape + o, z1 - 0.035)), target[0])
        z0 = np.minimum(z0_shape + o0, z1 - 0.035)
        # (ordering z0 <= z1 <= z2 <= z3 <= z4 holds by construction)
        self.surfaces = np.stack([z0, z1, z2, z3, z4]).astype(np.float32)  # (5, ni, nx)
        self.z0_mean = float(z0.mean())
        self.z2_mean = float(z2.mean())

        # steep normal faults: unit normal of the strike (nxv, nyv), offset c, lateral shift of
        # the plane per unit depth k (its sign is the dip direction), upper tip depth, throw,
        # along-strike gaussian taper (centre s0, width ssig)
        self.faults = []
        for _ in range(n_faults):
            phi = r_fault.uniform(0, np.pi)
            nxv, nyv = np.cos(phi), np.sin(phi)
            cx, cy = r_fault.uniform(0.2, 0.8) * ex, r_fault.uniform(0.2, 0.8) * ey
            c = nxv * cx + nyv * cy
            k = r_fault.choice([-1.0, 1.0]) * r_fault.uniform(0.08, 0.16)
            tip = r_fault.uniform(0.3, 0.55)
            throw = r_fault.uniform(0.02, 0.04)
            s0 = r_fault.uniform(-0.3, 0.3)
            ssig = r_fault.uniform(0.35, 0.7)
            # taper-weighted share of the hanging wall per sample depth, so that the fault
            # displacement averages to zero over the survey at every depth (keeps proportions)
            key = ((nxv * xg + nyv * yg - c) * np.sign(k))[part].ravel()
            w = np.exp(-0.5 * (((-nyv * xg + nxv * yg) - s0) / ssig) ** 2)[part].ravel()
            order = np.argsort(key)
            key, w = key[order], w[order]
            above = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])  # weight of key >= key[i]
            zc = (np.arange(_SHARE_GRID) + 0.5) / _SHARE_GRID
            share = above[np.searchsorted(key, abs(k) * zc, side="right")] / max(w.sum(), 1e-12)
            self.faults.append((nxv, nyv, c, k, tip, throw, s0, ssig, share.astype(np.float32)))

        # textures
        tex = r_tex
        ext3 = (ni + 4.0, nx + 4.0, ns * 1.3 + 8.0)
        self.chaos = _ValueNoise(tex, ext3, (4.0, 4.0, 1.8))
        ig, jg = np.meshgrid(np.arange(ni), np.arange(nx), indexing="ij")
        ext2 = (ni + 4.0, nx + 4.0)
        # 2-D maps (inline, crossline), gathered per voxel
        big = max(8.0, 0.15 * self.lh)  # lateral amplitude changes scale with the survey
        self.amp_up = _ValueNoise(tex, ext2, (big, big))(ig, jg)
        self.amp_low = _ValueNoise(tex, ext2, (0.7 * big, 0.7 * big))(ig, jg)
        self.scruff_tex = _ValueNoise(tex, ext2, (3.0, 3.0))(ig, jg)
        self.salt_tex = _ValueNoise(tex, ext2, (6.0, 6.0))(ig, jg)
        front = _ValueNoise(tex, (ex + 0.1, ey + 0.1), (0.12, 0.12))(xg, yg)
        theta = np.pi / 2 + tex.uniform(-0.45, 0.45)
        if tex.random() < 0.5:
            theta += np.pi
        # horizontal position along the progradation direction (clinoforms)
        self.prog = (np.cos(theta) * xg + np.sin(theta) * yg + 0.025 * front).astype(np.float32)
        self.clino_w = 0.18
        # Scruff's facies changes across the survey (drawn last: the other units keep their
        # geology): the strength of its internal layering, the thickness of its beds and how
        # chaotic it is vary smoothly over about a third of the survey, so one section's
        # Scruff can look unlike another's (what a class-specific style transfer carries)
        style = _ValueNoise(tex, (ex + 0.1, ey + 0.1), (0.35, 0.35))
        self.scruff_amp = np.exp(SCRUFF_STYLE_SPREAD[0] * style(xg, yg)).astype(np.float32)
        style = _ValueNoise(tex, (ex + 0.1, ey + 0.1), (0.35, 0.35))
        self.scruff_bed = np.exp(SCRUFF_STYLE_SPREAD[1] * style(xg, yg)).astype(np.float32)
        style = _ValueNoise(tex, (ex + 0.1, ey + 0.1), (0.35, 0.35))
        self.scruff_chaos = (1 / (1 + np.exp(-SCRUFF_STYLE_SPREAD[2] * style(xg, yg)))).astype(
            np.float32
        )
        # the hummocks: a 3-D texture laterally shorter than a wavelength (about 2 traces)
        self.hummocks = _ValueNoise(tex, ext3, (2.0, 2.0, 1.8))

        rl = r_layer
        span = 1.6 * ns + 16
        self.lay_up = _Layering(rl, -span, span, 3.2, 0.75, 0.2)
        self.lay_mid = _Layering(rl, -span, span, 2.5, 0.75, 0.0)
        self.lay_low = _Layering(rl, -4.0, 5.0, 0.1, 0.005, 0.1)
        self.lay_low_par = _Layering(rl, -span, span, 4.0, 0.8, 0.3)
        self.lay_chalk = _Layering(rl, -span, span, 3.0, 0.8, 0.5)
        self.lay_scruff = _Layering(rl, -span, span, 1.5, 0.6, 0.0)

    # -- per-voxel pieces ---------------------------------------------------------------------

    def displacement(self, xs: np.ndarray, ys: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Fault displacement D (normalised depth) on a slab: restored depth is z - D.

        ``xs`` (ci,), ``ys`` (nx,), ``z`` (ns,) the sample depths. The hanging wall (above the
        plane) moves down relative to the footwall by the throw, which grows from 0 at the tip
        over 0.12; both blocks move so that the mean displacement at each depth is zero.
        """
        d_out = np.zeros((len(xs), len(ys), len(z)), dtype=np.float32)
        z32 = z.astype(np.float32)
        grid = (np.arange(_SHARE_GRID) + 0.5) / _SHARE_GRID
        for nxv, nyv, c, k, tip, throw, s0, ssig, share_grid in self.faults:
            share = np.interp(z, grid, share_grid).astype(np.float32)
            d = (nxv * xs[:, None] + nyv * ys[None, :] - c).astype(np.float32)
            s = (-nyv * xs[:, None] + nxv * ys[None, :]).astype(np.float32)
            taper = np.exp(-0.5 * ((s - s0) / ssig) ** 2).astype(np.float32)
            tz = (throw * np.clip((z32 - tip) / 0.12, 0, 1)).astype(np.float32)
            hw = (d[:, :, None] - np.float32(k) * z32[None, None, :]) * np.float32(np.sign(k)) > 0
            d_out += (hw.astype(np.float32) - share) * (taper[:, :, None] * tz[None, None, :])
        return d_out

    def impedance(self, unit: int, gi: np.ndarray, gj: np.ndarray, zr: np.ndarray) -> np.ndarray:
        """Acoustic impedance of ``unit`` at voxels (global inline/crossline index, restored z)."""
        ns = self.zscale
        zs = self.surfaces
        if unit == 0:  # upper N.S.: continuous parallel reflectors, conformable to its base
            strat = zr / np.maximum(zs[0][gi, gj], 1e-3) * (self.z0_mean * ns)
            amp = 0.26 * (1 + 0.25 * self.amp_up[gi, gj])
            return _IMP_UPPER + 0.8 * zr + amp * self.lay_up(strat)
        if unit == 1:  # middle N.S.: chaotic, low amplitude
            strat = (zr - zs[0][gi, gj]) * ns
            chaos = self.chaos(gi.astype(np.float32), gj.astype(np.float32), zr * ns + 4)
            return _IMP_MIDDLE + 0.4 * zr + 0.2 * chaos + 0.04 * self.lay_mid(strat)
        if unit == 2:  # lower N.S.: high-amplitude sigmoidal clinoforms
            top, base = zs[1][gi, gj], zs[2][gi, gj]
            s = np.clip((zr - top) / np.maximum(base - top, 1e-3), 0, 1)
            s = 0.08 + 0.84 * s
            t = self.prog[gi, gj] - self.clino_w * np.log(s / (1 - s))
            amp = 0.55 * (1 + 0.3 * self.amp_low[gi, gj])
            par = self.lay_low_par((zr - top) * ns)
            return _IMP_LOWER + 0.5 * (zr - self.z2_mean) + amp * self.lay_low(t) + 0.1 * par
        if unit == 3:  # Rijnland / Chalk: bright top, continuous, grading down to a dull base
            top, base = zs[2][gi, gj], zs[3][gi, gj]
            rel = np.clip((zr - top) / np.maximum(base - top, 1e-3), 0, 1)
            strat = (zr - top) * ns
            grading = _CHALK_GRADING * (1 + 0.35 * self.amp_low[gi, gj]) * rel
            return _IMP_CHALK - grading + 0.3 * self.lay_chalk(strat)
        if unit == 4:  # Scruff: thin, discontinuous, hummocky, moderate amplitude
            strat = (zr - zs[3][gi, gj]) * ns
            layered = self.lay_scruff(strat / self.scruff_bed[gi, gj])
            chaos = self.hummocks(gi.astype(np.float32), gj.astype(np.float32), zr * ns + 9)
            c = self.scruff_chaos[gi, gj]
            inner = (1 - c) * layered + c * 1.4 * chaos
            return (
                _IMP_SCRUFF + 0.3 * self.scruff_tex[gi, gj] + 0.35 * self.scruff_amp[gi, gj] * inner
            )
        # Zechstein: transparent salt, near-constant impedance under a strong top
        return _IMP_SALT + 0.02 * self.salt_tex[gi, gj] + 0.05 * (zr - 1)


def _check_shape(shape: Iterable[int]) -> tuple[int, int, int]:
    try:
        out = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be three positive integers, got {shape!r}") from None
    if len(out) != 3 or min(out) < 1 or out[2] < 2:
        raise ValueError(
            f"shape must be (inlines >= 1, crosslines >= 1, samples >= 2), got {shape!r}"
        )
    return out  # type: ignore[return-value]


#: The largest noise level (RMS relative to the noise-free seismic's) a synthetic takes.
MAX_NOISE = 100.0


def make_f3_like(
    shape: Sequence[int] = DEFAULT_SHAPE,
    seed: int = 0,
    *,
    noise: float = 0.1,
    n_faults: int = 3,
    n_domes: int = 3,
    wavelet_hz: float = 25.0,
    sample_interval: float | None = None,
    first_inline: int = _FIRST_INLINE,
    first_crossline: int = _FIRST_CROSSLINE,
    calibrate: tuple[int, int] | None = None,
) -> SyntheticSurvey:
    """Generate a deterministic F3-like synthetic survey.

    Parameters
    ----------
    shape
        (inlines, crosslines, samples); samples along the last axis (depth / time, top first).
    seed
        Same seed (and arguments) -> bit-identical arrays; different seeds -> different
        geology and noise.
    noise
        RMS of the added noise relative to the RMS of the noise-free seismic (half band-limited
        -- Ricker-filtered and laterally smoothed -- and half white, by power). 0 for none.
    n_faults, n_domes
        Number of normal faults and of salt domes.
    wavelet_hz, sample_interval
        Ricker peak frequency (Hz) and sample interval (ms). By default the samples span F3's
        vertical extent (:data:`F3_DURATION_MS`, 255 samples of 4 ms), whatever their count:
        the geology and the wavelet are in physical units, rendered at least every 4 ms and
        averaged over each output sample, so 64 samples are a coarser sampling of the same
        section as 255, not a section with four times thicker layers.
    first_inline, first_crossline
        Numbers of the first inline / crossline.
    calibrate
        ``(inlines, crosslines)``: the corner of the survey whose class proportions are set
        to F3's (:data:`F3_PROPORTIONS`); default the whole survey. A benchmark layout
        (:func:`make_f3_benchmark`) sets them on its training part.

    Returns
    -------
    SyntheticSurvey
        ``seismic`` float32 with RMS ~1 and mean ~0; ``labels`` uint8 in 0..5 (class ids of
        :data:`~napari_forgetting.data.classes.F3_CLASS_NAMES`), each the unit at its sample's
        centre.

    Label invariant: along every trace the labels are non-decreasing with sample index
    (units stacked in class-id order; any unit may be missing, e.g. Scruff where it pinches
    out), including across faults and over salt domes.
    """
    ni, nx, ns = _check_shape(shape)
    seed = int(seed)
    if not (math.isfinite(float(noise)) and 0 <= float(noise) <= MAX_NOISE):
        raise ValueError(f"noise must be a number from 0 to {MAX_NOISE}, got {noise!r}")
    if noise < 0 or not np.isfinite(noise):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if n_faults < 0 or n_domes < 0:
        raise ValueError("n_faults and n_domes must be >= 0")
    # F3's extent, in whole microseconds per sample (what SEG-Y headers store)
    dt = round(F3_DURATION_MS / ns, 3) if sample_interval is None else float(sample_interval)
    if not dt > 0:
        raise ValueError(f"sample_interval must be > 0, got {sample_interval!r}")
    # the geology is laid out over the nominal extent, identically at every sample count
    duration = F3_DURATION_MS if sample_interval is None else ns * dt
    model = _Model(
        (ni, nx, ns), seed, int(n_faults), int(n_domes), zscale=duration / 4.0, calibrate=calibrate
    )
    over = max(1, math.ceil(dt / _RENDER_DT_MS - 1e-9))  # render samples per output sample
    nf = ns * over
    fine_wavelet = ricker(wavelet_hz, dt / over)
    fine_wavelet /= np.sqrt(np.sum(fine_wavelet**2))

    seismic = np.empty((ni, nx, ns), dtype=np.float32)
    labels = np.empty((ni, nx, ns), dtype=np.uint8)
    z = ((np.arange(ns) + 0.5) / ns).astype(np.float32)
    zf = ((np.arange(nf) + 0.5) / nf).astype(np.float32)
    slab = max(1, _SLAB_VOXELS // (nx * nf))
    sumsq = 0.0
    for i0 in range(0, ni, slab):
        i1 = min(ni, i0 + slab)
        xs = model.x[i0:i1]
        labels[i0:i1] = _units(model, i0, _restored(model, xs, z), ns)
        imp = _impedance(model, i0, _restored(model, xs, zf), nf)
        refl = np.zeros(imp.shape, dtype=np.float32)
        refl[..., :-1] = (imp[..., 1:] - imp[..., :-1]) / (imp[..., 1:] + imp[..., :-1])
        trace = _convolve_samples(refl, fine_wavelet)
        if over > 1:  # the output sample is the average over its cell
            trace = trace.reshape(i1 - i0, nx, ns, over).mean(axis=-1, dtype=np.float32)
        seismic[i0:i1] = trace
        sumsq += float(np.sum(trace.astype(np.float64) ** 2))

    rms = math.sqrt(sumsq / seismic.size) if sumsq > 0 else 1.0
    seismic *= np.float32(1.0 / rms)
    if noise > 0:
        wavelet = ricker(wavelet_hz, dt)
        wavelet /= np.sqrt(np.sum(wavelet**2))
        slab = max(1, _SLAB_VOXELS // (nx * ns))
        bl_amp = np.float32(noise * math.sqrt(0.5))
        wh_amp = np.float32(noise * math.sqrt(0.5))
        for n, i0 in enumerate(range(0, ni, slab)):
            i1 = min(ni, i0 + slab)
            rng = np.random.default_rng([seed, 0x5EED, n])
            white = rng.standard_normal((i1 - i0, nx, ns), dtype=np.float32)
            bl = _convolve_samples(rng.standard_normal(white.shape, dtype=np.float32), wavelet)
            if nx >= 3:  # a little lateral coherence along the crossline axis
                bl[:, 1:-1] = (bl[:, :-2] + bl[:, 1:-1] + bl[:, 2:]) / np.float32(math.sqrt(3.0))
            seismic[i0:i1] += bl_amp * bl + wh_amp * white

    if not np.isfinite(seismic).all():  # never written: a volume no reader could use
        raise ValueError("the synthetic seismic holds NaN or infinite values; lower --noise")
    inlines = np.arange(first_inline, first_inline + ni, dtype=np.int32)
    crosslines = np.arange(first_crossline, first_crossline + nx, dtype=np.int32)
    samples = np.arange(ns, dtype=np.float64) * dt
    return SyntheticSurvey(
        seismic=seismic,
        labels=labels,
        inlines=inlines,
        crosslines=crosslines,
        samples=samples,
        class_names=tuple(F3_CLASS_NAMES),
        seed=seed,
    )


def _restored(model: _Model, xs: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Restored (pre-faulting) depth of a slab ``(len(xs), nx, len(z))``, monotone per trace."""
    zr = z[None, None, :] - model.displacement(xs, model.y, z)
    np.maximum.accumulate(zr, axis=-1, out=zr)
    return zr


def _units(model: _Model, i0: int, zr: np.ndarray, n: int) -> np.ndarray:
    """Unit (class id) at each restored depth of a slab starting at inline ``i0``."""
    i1 = i0 + zr.shape[0]
    lab = np.zeros(zr.shape, dtype=np.uint8)
    for b in range(5):
        lab += zr >= model.surfaces[b, i0:i1, :, None]
    return lab


def _impedance(model: _Model, i0: int, zr: np.ndarray, n: int) -> np.ndarray:
    """Acoustic impedance of a slab sampled at ``n`` depths, each unit boundary blended by the
    share of the sample cell on either side (no staircase aliasing)."""
    i1 = i0 + zr.shape[0]
    half = np.float32(0.5)
    lab = np.zeros(zr.shape, dtype=np.uint8)
    boundary = np.zeros(zr.shape, dtype=bool)
    for b in range(5):
        e = (zr - model.surfaces[b, i0:i1, :, None]) * np.float32(n)
        lab += e >= 0
        boundary |= np.abs(e) < half
    imp = np.empty(zr.shape, dtype=np.float32)
    for unit in range(_N_CLASSES):
        ii, jj, kk = np.nonzero(lab == unit)
        if len(ii):
            imp[ii, jj, kk] = model.impedance(unit, ii + i0, jj, zr[ii, jj, kk])
    ii, jj, kk = np.nonzero(boundary)
    if len(ii):
        zb = zr[ii, jj, kk]
        gi = ii + i0
        h_prev = np.ones(len(ii), dtype=np.float32)  # share of the cell below boundary b-1
        acc = np.zeros(len(ii), dtype=np.float32)
        for unit in range(_N_CLASSES):
            if unit < 5:
                zbnd = model.surfaces[unit][gi, jj]
                h = np.clip((zb - zbnd) * np.float32(n) + half, 0, 1).astype(np.float32)
            else:
                h = np.zeros(len(ii), dtype=np.float32)
            occ = h_prev - h
            sel = occ > 0
            if np.any(sel):
                acc[sel] += occ[sel] * model.impedance(unit, gi[sel], jj[sel], zb[sel])
            h_prev = h
        imp[ii, jj, kk] = acc
    return imp


# ----------------------------------------------------------------------------------------------
# the benchmark's layout: train, test1, test2 cut from one geology
# ----------------------------------------------------------------------------------------------

#: F3's training volume and the sizes of its test volumes (test1: 200 inlines beyond the
#: training inlines; test2: 200 crosslines beyond the training crosslines, over all inlines).
F3_TRAIN_SHAPE: tuple[int, int, int] = (401, 701, 255)
F3_TEST_LINES = 200


@dataclass(frozen=True, eq=False)
class SyntheticBenchmark:
    """One survey cut three ways, as the F3 facies benchmark is: ``train`` (inline x crossline
    corner), ``test1`` (the inlines after it, same crosslines) and ``test2`` (the crosslines
    after it, over the inlines of both)."""

    train: SyntheticSurvey
    test1: SyntheticSurvey
    test2: SyntheticSurvey

    @property
    def tests(self) -> dict[str, SyntheticSurvey]:
        return {"test1": self.test1, "test2": self.test2}


def benchmark_shapes(train_shape: Sequence[int]) -> dict[str, tuple[int, int, int]]:
    """The shapes of the layout's volumes for a training shape, in F3's proportions:
    test1 ``(IL * 200/401, XL, S)``, test2 ``(IL + test1's inlines, XL * 200/701, S)``."""
    il, xl, ns = _check_shape(train_shape)
    t1 = max(1, round(il * F3_TEST_LINES / F3_TRAIN_SHAPE[0]))
    t2 = max(1, round(xl * F3_TEST_LINES / F3_TRAIN_SHAPE[1]))
    return {"train": (il, xl, ns), "test1": (t1, xl, ns), "test2": (il + t1, t2, ns)}


def _cut(survey: SyntheticSurvey, inl: slice, xl: slice) -> SyntheticSurvey:
    return SyntheticSurvey(
        seismic=np.ascontiguousarray(survey.seismic[inl, xl]),
        labels=np.ascontiguousarray(survey.labels[inl, xl]),
        inlines=survey.inlines[inl].copy(),
        crosslines=survey.crosslines[xl].copy(),
        samples=survey.samples,
        class_names=survey.class_names,
        seed=survey.seed,
    )


def make_f3_benchmark(
    shape: Sequence[int] = DEFAULT_SHAPE, seed: int = 0, **options: Any
) -> SyntheticBenchmark:
    """The benchmark layout for a training volume of ``shape``: one survey of
    ``(IL + test1 inlines, XL + test2 crosslines, S)`` (:func:`make_f3_like` with
    ``options``), its class proportions set to F3's on the training part, cut into train,
    test1 and test2 (:func:`benchmark_shapes`). Inline and crossline numbers continue across
    the cuts, as in F3."""
    shapes = benchmark_shapes(shape)
    il, xl, ns = shapes["train"]
    t1, t2 = shapes["test1"][0], shapes["test2"][1]
    whole = make_f3_like((il + t1, xl + t2, ns), seed, calibrate=(il, xl), **options)
    return SyntheticBenchmark(
        train=_cut(whole, slice(0, il), slice(0, xl)),
        test1=_cut(whole, slice(il, il + t1), slice(0, xl)),
        test2=_cut(whole, slice(0, il + t1), slice(xl, xl + t2)),
    )


#: The files of the benchmark's layout, relative to its folder: {volume: (seismic, labels)}.
F3_LAYOUT = {
    "train": ("train/train_seismic.npy", "train/train_labels.npy"),
    "test1": ("test_once/test1_seismic.npy", "test_once/test1_labels.npy"),
    "test2": ("test_once/test2_seismic.npy", "test_once/test2_labels.npy"),
}


def write_benchmark(bench: SyntheticBenchmark, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write the layout of the public F3 facies benchmark (:data:`F3_LAYOUT`, float32 seismic
    and uint8 labels, ``(inline, crossline, sample)``), each file atomically; returns
    ``{"train_seismic": path, "train_labels": path, ...}``."""
    out = Path(out_dir)
    written: dict[str, Path] = {}
    for name, survey in (("train", bench.train), *bench.tests.items()):
        seismic_rel, labels_rel = F3_LAYOUT[name]
        for rel, array in ((seismic_rel, survey.seismic), (labels_rel, survey.labels)):
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            dtype = np.float32 if array is survey.seismic else np.uint8
            save_npy(path, array.astype(dtype, copy=False))
            written[f"{name}_{'seismic' if array is survey.seismic else 'labels'}"] = path
    return written


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------

_FORMATS = ("segy", "npy")


def write_survey(
    survey: SyntheticSurvey,
    out_dir: str | os.PathLike,
    name: str = "f3_synthetic",
    formats: Sequence[str] | str = ("segy", "npy"),
) -> dict[str, Path]:
    """Write a survey to ``out_dir`` (created if needed); returns ``{kind: path}``.

    * ``"segy"`` -> ``<name>.sgy`` (IEEE float, big-endian, inline-sorted, inline/crossline
      numbers at bytes 189/193, 4 ms or the survey's sample interval) and, beside it, the
      labels as ``<name>_labels.npy`` (uint8);
    * ``"npy"`` -> ``<name>_seismic.npy`` (float32) and ``<name>_labels.npy`` (F3 benchmark
      naming: the labels file is the seismic file with ``seismic`` replaced by ``labels``).

    Keys of the result: ``"segy"``, ``"seismic"`` (the .npy) and ``"labels"``, for what was
    written. Every file is written to a temporary file in ``out_dir`` and moved into place.
    """
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(formats)
    unknown = [f for f in formats if f not in _FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {_FORMATS}, got {formats!r}")
    if not name or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(f"name must be a plain file stem, got {name!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    written: dict[str, Path] = {}
    written["labels"] = out / f"{name}_labels.npy"
    save_npy(written["labels"], survey.labels.astype(np.uint8))
    if "npy" in formats:
        seismic = survey.seismic.astype(np.float32, copy=False)
        written["seismic"] = out / f"{name}_seismic.npy"
        save_npy(written["seismic"], seismic)
    if "segy" in formats:
        from napari_forgetting.data.segy import write_segy  # the SEG-Y layer (segyio)

        path = out / f"{name}.sgy"
        write_segy(  # atomic itself (temporary file beside it, then os.replace)
            path,
            survey.seismic.astype(np.float32, copy=False),
            inlines=np.asarray(survey.inlines),
            crosslines=np.asarray(survey.crosslines),
            sample_interval=survey.sample_interval,
            sorting="inline",
            endian="big",
            sample_format="ieee",
            iline=189,
            xline=193,
            delay=float(survey.samples[0]) if len(survey.samples) else 0.0,
        )
        written["segy"] = path
    return written


def write_sample_data(out_dir: str | os.PathLike) -> dict[str, Path]:
    """(Re)generate the shipped sample data in ``out_dir``.

    ``f3_synthetic.sgy`` + ``f3_synthetic_labels.npy``: :func:`make_f3_like` with shape
    :data:`SAMPLE_DATA_SHAPE` and seed :data:`SAMPLE_DATA_SEED`, default noise.
    """
    survey = make_f3_like(SAMPLE_DATA_SHAPE, SAMPLE_DATA_SEED)
    return write_survey(survey, out_dir, name=SAMPLE_DATA_NAME, formats=("segy",))
