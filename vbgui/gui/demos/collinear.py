"""Demonstration 2: collinear stimuli in a real neuron; mean-field is axis-aligned and too narrow.

A Poisson GLM (20 stimulus taps and a bias, no spike history) of the
grasshopper auditory receptor recording, fitted twice: mean-field and
full-rank q, each animated through its iterates in the plane of two
adjacent stimulus taps, whose posterior correlation is strong.  The
ELBO difference between the families is shown in nats.  A second plot
draws each family's fitted stimulus filter (posterior mean against lag)
with a band of ±2 posterior sd: mean-field's band is far too narrow.

The exact posterior is not Gaussian, so nothing is drawn as "true" but a
reference: PSIS-reweighted draws of the full-rank q
(:func:`vbgui.app.diagnose.diagnose`), drawn as smoothed contours when
its k-hat says the weights are reliable, and said to be pending or
unusable otherwise.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtWidgets import QComboBox, QLabel, QWidget
from scipy.ndimage import gaussian_filter

import vbgui
from vbgui.app.demos import DemoScene
from vbgui.app.diagnose import DiagnosticsSettings, ReferencePosterior, diagnose
from vbgui.app.fit import FitSession
from vbgui.core.families import GaussianPosterior
from vbgui.core.fit2d import Gaussian2D
from vbgui.gui.demos.fit2d_page import Fit2DPage, Fits
from vbgui.gui.demos.page import decimal, readout_table
from vbgui.io.loaders import load_recording
from vbgui.models.preset import load_preset

RECORDING = Path(vbgui.__file__).parent / "resources" / "recordings" / "grasshopper-receptor-1.npz"
FAMILIES = ("mean-field", "full-rank")
STIMULUS_LAGS = 20
DEFAULT_PAIR = ("stim[2]", "stim[3]")
REFERENCE_DRAWS = 4000
HISTOGRAM_BINS = 80
SMOOTHING_BINS = 2.5
VIEW_SDS = 4.0
BAND_SDS = 2.0
NARROW_BAND_ALPHA = 170


def stimulus_filter(q: GaussianPosterior, names: tuple[str, ...], dt: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stimulus filter of q: (lag in ms, posterior mean, posterior sd) of stim[0], stim[1], ..."""
    index = [names.index(f"stim[{lag}]") for lag in range(STIMULUS_LAGS)]
    lags_ms = np.arange(STIMULUS_LAGS) * dt * 1000.0
    return lags_ms, np.array(q.mean)[index], np.sqrt(np.diag(np.array(q.cov))[index])


def fit_families(seed: int) -> dict[str, tuple[list[GaussianPosterior], float, tuple[str, ...], FitSession]]:
    """Fit both families; by family: every q from the start to the optimum, the ELBO, the names, the session."""
    recording = load_recording(RECORDING)
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=STIMULUS_LAGS, spike_history_lags=0))
    fitted = {}
    for family in FAMILIES:
        session = FitSession(preset.with_fit(family=family, seed=seed), recording)
        iterates = [session.initial_q()]
        result = session.run(lambda progress: iterates.append(progress.q))
        fitted[family] = (iterates, result.elbo, session.names, session)
    return fitted


def pair_path(iterates: list[GaussianPosterior], pair: tuple[int, int]) -> list[Gaussian2D]:
    index = list(pair)
    return [Gaussian2D(np.array(q.mean)[index], np.array(q.cov)[np.ix_(index, index)]) for q in iterates]


def smoothed_density(draws: np.ndarray, weights: np.ndarray, x_range: tuple[float, float],
                     y_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A weighted 2-D histogram of draws (N, 2), smoothed by a Gaussian kernel: (x centres, y centres, density)."""
    histogram, x_edges, y_edges = np.histogram2d(draws[:, 0], draws[:, 1], bins=HISTOGRAM_BINS,
                                                 range=[x_range, y_range], weights=weights)
    density = gaussian_filter(histogram, SMOOTHING_BINS)
    return 0.5 * (x_edges[1:] + x_edges[:-1]), 0.5 * (y_edges[1:] + y_edges[:-1]), density


class CollinearPage(Fit2DPage):
    demo_name = "collinear-stimuli"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seed = 0
        self.fitted: dict | None = None
        self.reference: ReferencePosterior | None = None
        self.reference_note = "reference posterior: computing…"
        self.pair_choice = QComboBox()
        self.pair_choice.addItems([f"stim[{k}], stim[{k + 1}]" for k in range(STIMULUS_LAGS - 1)])
        self.pair_choice.setCurrentText(", ".join(DEFAULT_PAIR))
        self.pair_choice.currentIndexChanged.connect(self._on_pair)
        self.controls_layout.addWidget(QLabel("Two adjacent stimulus weights"))
        self.controls_layout.addWidget(self.pair_choice)
        self.add_run_buttons()

        self.fit_plot = self.add_plot(0, 0, "", "", "", legend_columns=2)
        self.target_contours = self.fit_plot.add_target_contours("reference", "reference posterior (PSIS draws)")
        self.fit_contours = {"mean-field": self.fit_plot.add_contours("mean-field", "mean-field q"),
                             "full-rank": self.fit_plot.add_contours("full-rank", "full-rank q", dashed=True)}

        self.filter_plot = self.add_plot(0, 1, f"Fitted stimulus filter: mean ± {BAND_SDS:g} sd (shaded)",
                                         "lag (ms)", "weight (log rate per stimulus unit)", legend_columns=2)
        # the narrow mean-field band on top, nearly opaque, so it keeps its own colour over the wide one
        self.filter_bands = {"full-rank": self.filter_plot.add_band("full-rank"),
                             "mean-field": self.filter_plot.add_band("mean-field", alpha=NARROW_BAND_ALPHA)}
        self.filter_means = {"mean-field": self.filter_plot.add_curve("mean-field", "mean-field q"),
                             "full-rank": self.filter_plot.add_curve("full-rank", "full-rank q", dashed=True)}
        self.filter_markers = self.filter_plot.add_markers("marker", "the pair on the left")
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)
        self.finish_controls()
        self._label_axes()

    @property
    def pair_names(self) -> tuple[str, str]:
        first, second = self.pair_choice.currentText().split(", ")
        return first, second

    def _label_axes(self) -> None:
        first, second = self.pair_names
        self.fit_plot.labels = {"bottom": f"weight {first}", "left": f"weight {second}"}
        self.fit_plot.set_title(f"Grasshopper receptor: posterior of {first} and {second}")
        self.fit_plot.apply(self.theme, self.sizes)

    # -- computing ----------------------------------------------------------------------------------
    def job(self) -> Callable[[], Fits]:
        seed, pair_names = self.seed, self.pair_names

        def fits() -> Fits:
            fitted = fit_families(seed)
            return self._fits_for_pair(fitted, pair_names)
        return fits

    @staticmethod
    def _fits_for_pair(fitted: dict, pair_names: tuple[str, str]) -> Fits:
        names = fitted["full-rank"][2]
        pair = (names.index(pair_names[0]), names.index(pair_names[1]))
        return Fits(None, {family: pair_path(fitted[family][0], pair) for family in FAMILIES},
                    {"fitted": fitted, "pair": pair})

    def _on_fits(self, outcome) -> None:
        if isinstance(outcome, ReferencePosterior):
            self.reference = outcome
            self.reference_note = "" if outcome.valid else f"reference not drawn: {outcome.description}"
            self.redraw()
            self.updated.emit()
            return
        super()._on_fits(outcome)
        if self.reference is None:
            self._start_reference(self.fits.extras["fitted"]["full-rank"])

    def _start_reference(self, full_rank: tuple) -> None:
        """Importance-sample the posterior with the full-rank q as the proposal (about a second)."""
        iterates, _elbo, names, session = full_rank
        settings = DiagnosticsSettings(draws=REFERENCE_DRAWS, seed=self.seed)
        self.runner.submit(lambda: diagnose(session.problem, iterates[-1], names, settings=settings)
                           .reference_posterior)

    def restart(self) -> None:
        if self.fits is None:
            self.refit(restart=True)
        else:
            self.animation.restart()

    def settled(self) -> bool:
        return super().settled() and self.reference is not None

    def _on_pair(self) -> None:
        self._label_axes()
        if self.fits is not None:
            self.fits = self._fits_for_pair(self.fits.extras["fitted"], self.pair_names)
            self.draw_target(self.fits)
            self.animation.set_paths(self.fits.paths)

    # -- drawing ------------------------------------------------------------------------------------
    def draw_filters(self, fits: Fits) -> None:
        """Each family's fitted stimulus filter with its ±2 sd band; the chosen pair marked on full-rank's."""
        fitted = fits.extras["fitted"]
        for family in FAMILIES:
            iterates, _elbo, names, session = fitted[family]
            lags_ms, mean, sd = stimulus_filter(iterates[-1], names, session.recording.dt)
            self.filter_means[family].setData(lags_ms, mean)
            self.filter_bands[family].set_data(lags_ms, mean - BAND_SDS * sd, mean + BAND_SDS * sd)
            if family == "full-rank":
                pair = [int(name[len("stim["):-1]) for name in self.pair_names]
                self.filter_markers.setData(lags_ms[pair], mean[pair])

    def draw_target(self, fits: Fits) -> None:
        self.draw_filters(fits)
        full_rank = fits.optimum("full-rank")
        sd = np.sqrt(np.diag(full_rank.cov))
        x_range = (full_rank.mean[0] - VIEW_SDS * sd[0], full_rank.mean[0] + VIEW_SDS * sd[0])
        y_range = (full_rank.mean[1] - VIEW_SDS * sd[1], full_rank.mean[1] + VIEW_SDS * sd[1])
        self.fit_plot.fix_range(x_range, y_range)
        if self.reference is None or not self.reference.valid:
            self.target_contours.clear()
            return
        draws, weights = self.reference.pair(*fits.extras["pair"])
        self.target_contours.set_density(*smoothed_density(draws, weights, x_range, y_range))

    def update_readout(self) -> None:
        fitted = self.fits.extras["fitted"]
        rows = []
        for family in FAMILIES:
            q = self.animation.current(family)
            sd = np.sqrt(np.diag(q.cov))
            rows.append([f"{family} q", decimal(fitted[family][1], 1), decimal(sd[0], 3), decimal(sd[1], 3),
                         decimal(q.cov[0, 1] / (sd[0] * sd[1]), 2, signed=True)])
        if self.reference is not None and self.reference.valid:
            index = list(self.fits.extras["pair"])
            cov = self.reference.cov[np.ix_(index, index)]
            sd = np.sqrt(np.diag(cov))
            rows.append(["reference", "", decimal(sd[0], 3), decimal(sd[1], 3),
                         decimal(cov[0, 1] / (sd[0] * sd[1]), 2, signed=True)])
        gap = fitted["full-rank"][1] - fitted["mean-field"][1]
        table = readout_table(["", "ELBO (nats)", "sd " + self.pair_names[0], "sd " + self.pair_names[1],
                               "correlation"], rows)
        note = f"<br><i>{self.reference_note}</i>" if self.reference_note else ""
        self.readout.setText(f"{table}<b>ELBO full-rank − mean-field = {decimal(gap, 1)} nats</b>{note}")

    # -- scenes -------------------------------------------------------------------------------------
    def scene(self) -> DemoScene:
        return DemoScene(self.demo_name, seed=self.seed, target="grasshopper-receptor-1",
                         options={"pair": list(self.pair_names)})

    def apply_scene(self, scene: DemoScene) -> None:
        self.seed = scene.seed
        pair = scene.options.get("pair", list(DEFAULT_PAIR))
        self.pair_choice.blockSignals(True)
        self.pair_choice.setCurrentText(", ".join(pair))
        self.pair_choice.blockSignals(False)
        self._label_axes()
        self.reference = None
        self.reference_note = "reference posterior: computing…"
        self.refit(restart=True)
