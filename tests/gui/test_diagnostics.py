"""The diagnostics views: the panel after a fit, reference contours from draws, cancelling, comparison."""
from __future__ import annotations

import csv
import time
from functools import partial

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from vbgui.app import diagnose
from vbgui.app.compare import TABLE_COLUMNS, TOOLTIP
from vbgui.core import hmc
from vbgui.gui.compare_dialog import COLUMNS, RANK_HEADER, table_cells
from vbgui.gui.kde_contours import weighted_kde
from vbgui.gui.posterior_plot import HPD_MASSES, HPD_RADII, PosteriorPlot, kde_contour_lines
from vbgui.app.shown_reference import ShownReference

from tests.gui.axes import check_axes_show_their_numbers

TIMEOUT_MS = 20_000


def set_field(window, key: str, text: str) -> None:
    edit = window.preset_panel.numbers[key]
    edit.setText(text)
    edit.textEdited.emit(text)


@pytest.fixture
def diagnosed(qtbot, window, small_recording_path):
    """The window after a mean-field fit of the 26-weight poisson-glm and its automatic diagnostics."""
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    window.preset_panel.family.setCurrentText("mean-field")
    with qtbot.waitSignal(window.diagnostics.diagnostics_finished, timeout=TIMEOUT_MS) as done:
        assert window.run_fit()
    return window, done.args[0]


def test_diagnostics_run_after_a_fit_and_fill_the_panel(diagnosed) -> None:
    window, outcome = diagnosed
    diagnostics = outcome.diagnostics
    assert outcome.result is window.result and len(diagnostics.names) == 26
    panel = window.diagnostics.panel
    text = panel.summary.text()
    assert f"{diagnostics.psis_khat:.2f}" in text and diagnostics.psis_verdict in text
    assert diagnostics.psis_verdict == "poor"  # mean-field q of correlated weights: heavy-tailed weights
    assert f"{diagnostics.elbo:,.3f} nats" in text
    # one gap, with its meaning: from the model's evidence (a full-rank proposal here), not q's own weights
    gap, kind = diagnostics.gap
    assert kind == "estimate" and diagnostics.evidence_source.endswith("full-rank proposal")
    assert f"{diagnostics.evidence_estimate:,.3f} nats ± " in text and f"about {gap:,.3f} nats" in text
    assert "KL(q ‖ posterior)" in text and "below log p(y)" in text
    assert f"{diagnostics.gap_estimate:,.3f} nats" not in text and text.count("gap") == 1
    # the reference's own quality on a line of its own
    assert f"reference quality</td><td><b style='color:#007a50'>{diagnostics.proposal_verdict}" in text
    assert "Flags" in text and "k-hat" in text
    assert panel.plots.isVisibleTo(panel)
    assert "Done" in panel.status.text() and panel.diagnose_button.isEnabled()
    # the sd-ratio bars: mean-field under-estimates the posterior's spread
    plots = panel.plots
    assert all(item.scene() is plots.scene() for item in
               (plots.ratio_bars, *plots.corr_images.values(), plots.colour_bar)), "a plot is not on screen"
    heights = plots.ratio_bars.opts["height"]
    np.testing.assert_allclose(heights, diagnostics.sd_ratio)
    assert np.min(heights) < 0.9
    for key in ("reference", "q"):
        image = panel.plots.corr_images[key].image
        assert image.shape == (26, 26) and np.all(np.abs(image) <= 1.0 + 1e-9)
    np.testing.assert_allclose(panel.plots.corr_images["q"].image, np.eye(26), atol=1e-12)
    assert np.max(np.abs(panel.plots.corr_images["reference"].image - np.eye(26))) > 0.2
    assert check_axes_show_their_numbers(window) >= 1  # every panel: weights within +-1 read as they are


def test_reference_contours_from_draws_for_a_26_weight_poisson_model(diagnosed) -> None:
    window, outcome = diagnosed
    plot = window.posterior_plot
    reference = outcome.diagnostics.reference_posterior
    assert reference.kind == "psis" and reference.valid
    assert plot.reference.kind == "sampled" and plot.reference.sampled is reference
    legend = f"reference posterior: PSIS, {reference.effective_draws:.0f} effective draws"
    assert legend in plot.reference_label.text()
    assert plot.legend.getLabel(plot.reference_contours.curves[0]).text == legend
    i, j = plot.pair()
    mean = reference.mean[[i, j]]
    for curve in plot.reference_contours.curves:
        x, y = curve.getData()
        assert np.isfinite(x).sum() > 30
    x, y = plot.reference_contours.curves[0].getData()
    assert np.nanmin(x) < mean[0] < np.nanmax(x) and np.nanmin(y) < mean[1] < np.nanmax(y)


def test_kde_contours_of_gaussian_draws_match_its_hpd_ellipses() -> None:
    rng = np.random.default_rng(1)
    cov = np.array([[1.0, -0.7], [-0.7, 2.0]])
    draws = rng.multivariate_normal([0.5, -1.0], cov, size=6000)
    weights = rng.uniform(0.5, 1.5, size=6000)
    kde = weighted_kde(draws, weights / weights.sum())
    inflation = np.sqrt(1.0 + kde.bandwidth ** 2)  # a kernel density widens by the kernel's variance
    for (x, y), radius in zip(kde_contour_lines(draws, weights / weights.sum()), HPD_RADII):
        points = np.stack([x, y])[:, np.isfinite(x)] - np.array([[0.5], [-1.0]])
        distance = np.sqrt(np.einsum("in,ij,jn->n", points, np.linalg.inv(cov), points))
        assert abs(np.median(distance) - radius * inflation) < 0.06 * radius
    assert HPD_MASSES[0] == pytest.approx(0.3935, abs=1e-4)


def test_a_reference_that_is_not_valid_is_named_not_drawn(qtbot) -> None:
    plot = PosteriorPlot()
    qtbot.addWidget(plot)
    names = ("bias", "stim[0]", "stim[1]", "stim[2]")
    plot.set_model(names, {})
    draws = np.random.default_rng(0).standard_normal((400, 4))
    sampled = diagnose.ReferencePosterior("hmc", names, draws.mean(0), np.cov(draws.T), draws, None, 12.0, False,
                                          "HMC 4 chains x 100 draws, max R-hat 1.3400, not converged")
    plot.set_reference(ShownReference("sampled", sampled=sampled))
    text = plot.reference_label.text()
    assert "not valid" in text and "R-hat 1.3400" in text and "HMC, 12 effective draws" in text
    assert all(len(curve.getData()[0] if curve.getData()[0] is not None else []) == 0
               for curve in plot.reference_contours.curves)


@pytest.fixture
def slow_hmc(monkeypatch):
    """Diagnostics whose HMC reference would run for minutes."""
    long_hmc = hmc.HmcSettings(warmup=20_000, draws=50_000)
    monkeypatch.setattr(diagnose, "DiagnosticsSettings", partial(diagnose.DiagnosticsSettings, hmc=long_hmc))


def test_cancel_stops_the_diagnostics(qtbot, diagnosed, slow_hmc) -> None:
    window, _ = diagnosed
    controller, panel = window.diagnostics, window.diagnostics.panel
    panel.reference_choice.setCurrentText("HMC")
    panel.diagnose_button.click()
    assert controller.is_running() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: "HMC" in panel.status.text(), timeout=TIMEOUT_MS)
    start = time.perf_counter()
    with qtbot.waitSignal(controller.diagnostics_failed, timeout=5_000) as failed:
        panel.cancel_button.click()
    assert failed.args == ["cancelled"] and time.perf_counter() - start < 5.0
    # no diagnosis is shown (the cancelled one replaced it): the message stands where the numbers were
    assert not controller.is_running() and "cancelled" in panel.summary.text() and panel.status.text() == ""
    assert not panel.plots.isVisibleTo(panel)
    assert panel.diagnose_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_the_gui_thread_keeps_running_while_diagnostics_run(qtbot, diagnosed, slow_hmc) -> None:
    window, _ = diagnosed
    controller = window.diagnostics
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    assert controller.diagnose("hmc")
    qtbot.wait(1500)
    assert controller.is_running()
    timer.stop()
    controller.cancel()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=5_000)
    gaps = np.diff(ticks)
    assert len(ticks) >= 20 and gaps.max() < 0.5, f"{len(ticks)} ticks, longest gap {gaps.max():.2f} s"


def test_compare_dialog_tabulates_two_presets_and_exports_csv(qtbot, window, small_recording_path, tmp_path) -> None:
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    set_field(window, "design.spike_history_lags", "0")
    dialog = window.diagnostics.show_compare_dialog()
    qtbot.addWidget(dialog)
    dialog.check(["poisson-glm", "current form"])
    with qtbot.waitSignal(dialog.comparison_finished, timeout=TIMEOUT_MS) as done:
        assert dialog.run_comparison()
    table = done.args[0]
    assert len(table.rows) == 2 and {row.parameters for row in table.rows} == {26, 21}
    widget = dialog.table_widget
    assert widget.rowCount() == 2 and widget.columnCount() == len(COLUMNS)
    headers = [header for header, _ in COLUMNS]
    assert widget.item(0, 0).text() == table.rows[0].model
    assert widget.item(0, headers.index("Δ evidence")).text() == "0.000"
    # ranked by a column on screen: the shown evidences fall down the table (ranked rows first)
    shown = [float(widget.item(r, headers.index(RANK_HEADER)).text().split(" ± ")[0].replace(",", ""))
             for r in range(2) if table.rows[r].evidence_reliable]
    assert shown == sorted(shown, reverse=True) and len(shown) >= 1
    assert table.verdict in dialog.status.text() and "ranked by log evidence" in dialog.status.text()
    standings = [widget.item(r, headers.index("standing")).text() for r in range(2)]
    assert standings[0] in ("best", "tie") and standings[1] in ("lower", "tie", "not ranked: unreliable")
    assert TOOLTIP in widget.toolTip() and TOOLTIP in widget.horizontalHeaderItem(2).toolTip()
    assert dialog.export_button.isEnabled()
    path = dialog.write_csv(tmp_path / "comparison")
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == TABLE_COLUMNS and len(rows) == 3
    assert rows[1][0] == table.rows[0].model
    before = path.read_bytes()
    from PySide6.QtWidgets import QFileDialog

    from vbgui.errors import OutputFileError

    with pytest.raises(OutputFileError, match="already exists"):
        dialog.write_csv(path)
    # the save dialog asked about "comparison", not "comparison.csv": nothing is replaced unasked
    dialog_answer = (str(tmp_path / "comparison"), "CSV table (*.csv)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: dialog_answer)
        dialog.choose_csv()
    assert "Not written" in dialog.status.text() and path.read_bytes() == before
    assert dialog.write_csv(path, force=True) == path


def test_compare_dialog_needs_two_models(qtbot, window, small_recording_path) -> None:
    window.open_recording(small_recording_path)
    dialog = window.diagnostics.show_compare_dialog()
    qtbot.addWidget(dialog)
    dialog.check(["poisson-glm"])
    assert not dialog.run_comparison()
    assert "at least two" in dialog.status.text()


def test_no_fit_no_diagnosis(window) -> None:
    panel = window.diagnostics.panel
    # before the first fit: no empty axes, and the message once
    assert not panel.plots.isVisibleTo(panel)
    shown = panel.summary.text() + panel.status.text()
    assert shown.count("No diagnostics yet") == 1
    assert not window.diagnostics.diagnose()
    assert "run one first" in panel.summary.text() + panel.status.text()
    assert not panel.plots.isVisibleTo(panel)


def test_an_unreliable_evidence_reads_unreliable_and_an_exact_gap_is_the_one_shown(diagnosed) -> None:
    from dataclasses import replace

    from vbgui.gui.diagnostics_panel import diagnostics_html

    _, outcome = diagnosed
    diagnostics = outcome.diagnostics
    unreliable = replace(diagnostics, evidence_source="importance-weighted, q", psis_khat=1.65,
                         evidence_estimate=-2781.6)
    text = diagnostics_html(unreliable)
    assert ">unreliable</b>: importance weights with k-hat 1.65" in text
    assert "2,781.6" not in text and "unknown: the evidence is unreliable" in text
    exact = replace(diagnostics, log_evidence=diagnostics.elbo + 12.0, evidence_source="exact",
                    evidence_estimate=diagnostics.elbo + 12.0, evidence_estimate_se=0.0)
    text = diagnostics_html(exact)
    assert "12.000 nats (exact): the ELBO lies this far below log p(y)" in text
    assert f"{diagnostics.gap_estimate:,.3f}" not in text and text.count("nats (exact)") == 1


def test_a_new_fit_clears_the_previous_diagnosis(qtbot, window, small_recording_path) -> None:
    assert window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    with qtbot.waitSignal(window.fit_finished, timeout=60_000):
        assert window.run_fit()
    panel = window.diagnostics.panel
    qtbot.waitUntil(lambda: panel.diagnostics is not None, timeout=60_000)
    with qtbot.waitSignal(window.fit_started, timeout=5_000):
        window.run_fit()
    assert panel.diagnostics is None
    qtbot.waitUntil(lambda: not window.is_fitting(), timeout=60_000)


def test_an_export_after_the_diagnosis_carries_it(diagnosed, tmp_path) -> None:
    from vbgui.io.exports import read_export

    window, outcome = diagnosed
    for suffix in (".json", ".csv"):
        path = tmp_path / f"diagnosed{suffix}"
        assert window.write_result(path)
        carried = read_export(path)["metadata"]["diagnostics"]
        assert carried["psis_khat"] == pytest.approx(outcome.diagnostics.psis_khat)
        assert carried["psis_verdict"] == outcome.diagnostics.psis_verdict


def test_compare_dialog_shows_an_unreliable_evidence_as_unreliable_and_ranks_it_last(qtbot, window,
                                                                                      small_recording_path) -> None:
    from vbgui.app.compare import ComparisonTable, rank_rows

    from tests.app.test_compare import scored

    window.open_recording(small_recording_path)
    dialog = window.diagnostics.show_compare_dialog()
    qtbot.addWidget(dialog)
    table = ComparisonTable("rec", 100, 0, tuple(rank_rows([scored("mean-field", -100.0, 0.02, 0.97),
                                                           scored("full-rank", -100.8, 0.02, 0.3)])))
    dialog._on_finished(table)
    cells = table_cells(table)
    headers = [header for header, _ in COLUMNS]
    assert [row[0] for row in cells] == ["full-rank", "mean-field"]
    assert cells[1][headers.index(RANK_HEADER)] == "-100.000 ± 0.020 (unreliable)"
    assert cells[1][headers.index("Δ evidence")] == "—" and cells[1][headers.index("standing")].startswith("not ranked")
    assert "Best: full-rank" in dialog.status.text() and "k-hat 0.97 >= 0.7" in dialog.status.text()
    assert dialog.table_widget.item(1, 0).foreground().color() != dialog.table_widget.item(0, 0).foreground().color()


def test_closing_the_window_mid_diagnosis_returns_within_2_s(qtbot, diagnosed, slow_hmc) -> None:
    window, _ = diagnosed
    controller, panel = window.diagnostics, window.diagnostics.panel
    panel.reference_choice.setCurrentText("HMC")
    panel.diagnose_button.click()
    qtbot.waitUntil(lambda: "HMC" in panel.status.text(), timeout=TIMEOUT_MS)  # inside the minutes-long sampler
    start = time.perf_counter()
    assert window.close()
    assert time.perf_counter() - start < 2.0
    assert not controller.is_running()
