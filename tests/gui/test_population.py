"""The Population dock: Fit all units fills a sortable table in the background, a click shows a unit's fit in the main
panels, Cancel keeps the finished units, the summary exports as vbgui batch's summary.csv, closing mid-batch joins."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QFileDialog, QTabBar

from vbgui.app.batch import SUMMARY_COLUMNS, summary_csv_text
from vbgui.gui.axes import MIN_PLOT_HEIGHT
from vbgui.gui.population_panel import TABLE_MIN_HEIGHT
from vbgui.io.npz import save_npz, save_units_npz
from vbgui.models.synthetic import make_synthetic_population, make_synthetic_recording

from .test_window_layout import SIZES, rect_in_window, window_plots
from .window_helpers import set_field

BATCH_TIMEOUT_MS = 60_000
SMALL_UNITS = 4
LONG_UNITS = 8


@pytest.fixture(scope="module")
def units_path(tmp_path_factory):
    """Four poisson units of 4000 bins sharing a stimulus (fitted in about a second)."""
    path = tmp_path_factory.mktemp("population") / "four-units.npz"
    save_units_npz(make_synthetic_population("poisson", n_units=SMALL_UNITS, n_bins=4000, stimulus_lags=6, seed=2),
                   path)
    return path


@pytest.fixture(scope="module")
def long_units_path(tmp_path_factory):
    """Eight units of 150,000 bins: about a second per unit on two cores, so a batch runs for several seconds."""
    path = tmp_path_factory.mktemp("population") / "eight-long-units.npz"
    save_units_npz(make_synthetic_population("poisson", n_units=LONG_UNITS, n_bins=150_000, stimulus_lags=10,
                                             seed=3), path)
    return path


def fit_all_to_end(qtbot, window, path):
    window.open_recording(path)
    window.preset_panel.select("poisson-glm")
    population = window.population
    with qtbot.waitSignal(population.batch_finished, timeout=BATCH_TIMEOUT_MS):
        assert population.fit_all()
    return population


def column_of(population, header_start: str) -> int:
    headers = [column.header for column in population.panel.model.columns]
    return next(i for i, header in enumerate(headers) if header.startswith(header_start))


def shown_units(population) -> list[int]:
    """The units' indices in the order the table shows them."""
    proxy = population.panel.proxy
    return [proxy.index(row, 0).data(Qt.ItemDataRole.UserRole) for row in range(proxy.rowCount())]


def front_dock_tab(window) -> str:
    """The title of the dock tab in front, among the Diagnostics and Population tabs."""
    for bar in window.findChildren(QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if "Population" in titles and "Diagnostics" in titles:
            return bar.tabText(bar.currentIndex())
    raise AssertionError("the Population and Diagnostics docks share no tab bar")


def shown_text(population, unit: int, column: int) -> str:
    model = population.panel.model
    return model.index(unit, column).data()


def test_the_dock_is_tabbed_with_the_diagnostics_and_comes_forward_for_several_units(qtbot, window, units_path,
                                                                                       small_recording_path) -> None:
    population = window.population
    # one unit (or none): the Population dock waits out of the way, the layout as it was
    assert population.dock.isHidden() and not population.fit_all_action.isEnabled()
    assert population.panel.model.rowCount() == 0
    window.open_recording(units_path)
    window.preset_panel.select("poisson-glm")
    assert population.panel.model.rowCount() == SMALL_UNITS and population.fit_all_action.isEnabled()
    assert not population.dock.isHidden() and population.dock in window.tabifiedDockWidgets(window.diagnostics.dock)
    assert front_dock_tab(window) == "Population"
    window.open_recording(small_recording_path)  # one unit: nothing to list
    assert population.panel.model.rowCount() == 0 and not population.panel.fit_all_button.isEnabled()
    assert population.dock.isHidden()


def test_a_saved_layout_does_not_bring_back_an_empty_population_dock(qtbot, fresh_settings, units_path) -> None:
    from vbgui.gui.main_window import MainWindow

    first = MainWindow(settings=fresh_settings, load_sample=False)
    qtbot.addWidget(first)
    first.show()
    first.open_recording(units_path)
    assert not first.population.dock.isHidden()
    first.close()  # saves the layout with the Population dock shown
    second = MainWindow(settings=fresh_settings)  # opens the one-unit sample recording
    qtbot.addWidget(second)
    second.show()
    assert second.population.dock.isHidden()
    second.close()


def test_fit_all_fills_the_table_in_the_background(qtbot, window, units_path) -> None:
    window.open_recording(units_path)
    window.preset_panel.select("poisson-glm")
    population = window.population
    texts_while_running: list[str] = []
    with qtbot.waitSignal(population.batch_finished, timeout=BATCH_TIMEOUT_MS) as finished:
        assert population.fit_all()
        assert population.is_running() and population.panel.cancel_button.isEnabled()
        assert not population.panel.fit_all_button.isEnabled()
        texts_while_running.append(population.panel.status.text())  # the GUI thread answers while it runs
    assert finished.args == [SMALL_UNITS]
    assert "Fitting" in texts_while_running[0]
    assert not population.is_running() and not population.panel.cancel_button.isEnabled()
    bar = population.panel.progress_bar
    assert (bar.value(), bar.maximum()) == (SMALL_UNITS, SMALL_UNITS)
    elbo, converged = column_of(population, "ELBO per bin"), column_of(population, "Converged")
    gap, history = column_of(population, "Gap"), column_of(population, "Spike-history")
    rate = column_of(population, "Firing rate")
    recording = window.recording_file
    for unit in range(SMALL_UNITS):
        result = population.outcomes[unit].result
        fitted_bins = result["bins"]["total"] - result["bins"]["first_row"]
        assert float(shown_text(population, unit, elbo).replace(",", "")) == pytest.approx(
            result["elbo"] / fitted_bins, abs=1e-4)
        assert shown_text(population, unit, converged) == ("yes" if result["converged"] else "no")
        # poisson: no exact evidence, and a batch fit does not compare models: said, not invented
        assert shown_text(population, unit, gap) == "not computed"
        assert shown_text(population, unit, history) == "not computed"
        expected_rate = recording.responses[:, unit].mean() / recording.dt
        assert float(shown_text(population, unit, rate)) == pytest.approx(expected_rate, abs=0.01)


def test_the_gap_shows_where_the_evidence_is_exact(qtbot, window, tmp_path) -> None:
    path = tmp_path / "gaussian-units.npz"
    save_units_npz(make_synthetic_population("gaussian", n_units=3, n_bins=2000, stimulus_lags=5, seed=4), path)
    window.open_recording(path)
    window.preset_panel.select("linear-gaussian")
    window.preset_panel.family.setCurrentText("mean-field")
    population = window.population
    with qtbot.waitSignal(population.batch_finished, timeout=BATCH_TIMEOUT_MS):
        assert population.fit_all()
    assert column_of(population, "Mean response per bin") == 1  # not spike counts: no rate in Hz
    gap = column_of(population, "Gap")
    for unit in range(3):
        result = population.outcomes[unit].result
        shown = float(shown_text(population, unit, gap).replace(",", ""))
        assert shown == pytest.approx(result["log_evidence"] - result["elbo"], abs=1e-4) and shown > 0


def test_a_column_sorts_the_units_by_its_values(qtbot, window, units_path) -> None:
    population = fit_all_to_end(qtbot, window, units_path)
    table = population.panel.table
    elbo = column_of(population, "ELBO per bin")
    per_bin = {unit: population.panel.model.rows[unit].elbo_per_bin for unit in range(SMALL_UNITS)}
    header = table.horizontalHeader()
    where = QPoint(header.sectionViewportPosition(elbo) + header.sectionSize(elbo) // 2, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)
    ascending = sorted(per_bin, key=per_bin.get)
    assert ascending not in (list(range(SMALL_UNITS)), list(range(SMALL_UNITS))[::-1])  # a sort that shows
    assert shown_units(population) in (ascending, ascending[::-1])
    first = shown_units(population)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)  # the other way round
    assert shown_units(population) == first[::-1]


def test_a_click_shows_that_units_fit_in_the_main_panels(qtbot, window, units_path) -> None:
    population = fit_all_to_end(qtbot, window, units_path)
    table = population.panel.table
    table.sortByColumn(column_of(population, "ELBO per bin"), Qt.SortOrder.DescendingOrder)
    unit = shown_units(population)[2]  # the third row, wherever the sort put it
    chosen = population.outcomes[unit].result
    row_rect = table.visualRect(population.panel.proxy.index(2, 1))
    with qtbot.waitSignal(population.unit_shown, timeout=BATCH_TIMEOUT_MS) as shown:
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=row_rect.center())
    assert shown.args == [unit]
    name = window.recording_file.unit_names[unit]
    assert window.recording.unit == name and window.recording_panel.unit_choice.currentIndex() == unit
    result = window.result
    assert result.unit == name and result.elbo == chosen["elbo"]
    np.testing.assert_array_equal(result.mean, chosen["parameters"]["mean"])
    elbo_x, elbo_y = window.elbo_plot.terms_plot.listDataItems()[0].getData()
    assert len(elbo_x) == len(chosen["trace"]["iteration"])
    assert f"{chosen['elbo']:,.3f}".split(".")[0] in window.summary_panel.text()
    assert name in window.windowTitle() and name in window.status_label.text()
    assert window.export_action.isEnabled()  # the shown unit's fit exports like any fit
    # the rate panel predicts this unit's data: its observed curve is the unit's, not another's
    observed = window.parameters_panel.observed_curve.getData()[1]
    assert observed is not None and len(observed) > 0
    # another unit replaces it
    other = shown_units(population)[0]
    with qtbot.waitSignal(population.unit_shown, timeout=BATCH_TIMEOUT_MS):
        population.show_unit(other)
    assert window.result.unit == window.recording_file.unit_names[other]
    assert window.population.panel.model.rowCount() == SMALL_UNITS  # the table stays
    # the Unit box picks another unit: the table's selection follows it
    window.recording_panel.unit_choice.setCurrentIndex(unit)
    window.recording_panel.unit_choice.activated.emit(unit)  # as a user's choice in the list
    assert window.recording.unit == window.recording_file.unit_names[unit]
    selected = table.selectionModel().selectedRows()
    assert [population.panel.proxy.mapToSource(index).row() for index in selected] == [unit]


def test_a_batch_whose_designs_would_not_fit_in_memory_is_refused_before_it_starts(qtbot, window, units_path,
                                                                                   monkeypatch) -> None:
    window.open_recording(units_path)
    window.preset_panel.select("poisson-glm")
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "1M")
    monkeypatch.setattr("vbgui.app.population.os.cpu_count", lambda: 4)  # 4 designs of 4000 x 26, whatever the machine
    population = window.population
    assert not population.fit_all()
    assert population.batch is None and not population.outcomes
    assert "4 design matrices at once" in window.last_error and "memory limit" in window.last_error
    assert population.panel.fit_all_button.isEnabled()


def test_fit_all_waits_for_a_running_single_fit(qtbot, window, long_units_path) -> None:
    window.open_recording(long_units_path)
    window.preset_panel.select("poisson-glm")
    window.preset_panel.estimator.setCurrentText("reparam")
    set_field(window, "fit.max_iter", "100000")
    population = window.population
    assert population.fit_all_action.isEnabled()
    with qtbot.waitSignal(window.fit_started, timeout=5_000):
        assert window.run_fit()
    assert not population.fit_all_action.isEnabled() and not population.panel.fit_all_button.isEnabled()
    assert not population.fit_all() and "Stop the running fit" in window.last_error
    assert population.batch is None
    with qtbot.waitSignal(window.fit_finished, timeout=BATCH_TIMEOUT_MS):
        window.stop_fit()
    assert population.fit_all_action.isEnabled()


def test_cancel_stops_within_a_second_and_keeps_the_finished_units(qtbot, window, long_units_path) -> None:
    window.open_recording(long_units_path)
    window.preset_panel.select("poisson-glm")
    population = window.population
    assert population.fit_all()
    qtbot.waitUntil(lambda: len(population.outcomes) >= 1, timeout=BATCH_TIMEOUT_MS)
    with qtbot.waitSignal(population.batch_cancelled, timeout=5_000) as cancelled:
        started = time.perf_counter()
        qtbot.mouseClick(population.panel.cancel_button, Qt.MouseButton.LeftButton)
    assert time.perf_counter() - started < 1.0
    kept = cancelled.args[0]
    assert 1 <= kept < LONG_UNITS and len(population.outcomes) == kept
    assert all(outcome.succeeded for outcome in population.outcomes.values())
    rows = population.panel.model.rows
    assert sum(row.elbo_per_bin is not None for row in rows) == kept
    assert sum(row.status == "not fitted" for row in rows) == LONG_UNITS - kept
    assert f"kept the {kept} unit{'' if kept == 1 else 's'} fitted" in population.panel.status.text()
    assert population.panel.fit_all_button.isEnabled() and population.panel.export_button.isEnabled()


def test_the_summary_exports_as_vbgui_batch_writes_it_and_asks_before_replacing(qtbot, window, units_path,
                                                                                 tmp_path, monkeypatch) -> None:
    population = fit_all_to_end(qtbot, window, units_path)
    target = tmp_path / "units-summary.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args, **_options: (str(tmp_path / "units-summary"),
                                                                                   "CSV table (*.csv)"))
    population.export_summary()
    expected = summary_csv_text([population.outcomes[unit] for unit in range(SMALL_UNITS)])
    assert target.read_text() == expected
    lines = expected.splitlines()
    assert lines[0] == ",".join(SUMMARY_COLUMNS) and len(lines) == 1 + SMALL_UNITS
    target.write_text("the user's own file\n")
    asked: list[list] = []
    monkeypatch.setattr(window.results, "confirm_overwrite", lambda existing: asked.append(existing) or False)
    assert not population.write_summary(target)
    assert asked == [[target]] and target.read_text() == "the user's own file\n"
    assert "Not exported" in window.status_label.text()
    monkeypatch.setattr(window.results, "confirm_overwrite", lambda existing: asked.append(existing) or True)
    assert population.write_summary(target)
    assert len(asked) == 2 and target.read_text() == expected
    # the recording itself is never replaced, even when confirmed
    assert not population.write_summary(units_path)
    assert "input" in window.last_error


def test_closing_the_window_mid_batch_cancels_and_joins_its_thread(qtbot, fresh_settings, long_units_path) -> None:
    from vbgui.gui.main_window import MainWindow

    window = MainWindow(settings=fresh_settings, load_sample=False)
    qtbot.addWidget(window)
    window.show()
    window.open_recording(long_units_path)
    window.preset_panel.select("poisson-glm")
    population = window.population
    assert population.fit_all()
    runner = population.batch
    qtbot.waitUntil(lambda: runner.worker.cancel_token is not None and runner.is_running(), timeout=5_000)
    qtbot.wait(300)  # the batch is fitting
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 2.0
    assert runner.thread.isFinished() and population.batch is None


def test_a_single_unit_fit_and_a_reopened_result_leave_the_population_alone_or_clear_it(qtbot, window, units_path,
                                                                                       tmp_path) -> None:
    population = fit_all_to_end(qtbot, window, units_path)
    with qtbot.waitSignal(window.fit_finished, timeout=BATCH_TIMEOUT_MS):
        assert window.run_fit()  # a fit of the unit shown keeps the table
    assert len(population.outcomes) == SMALL_UNITS
    other = tmp_path / "single.npz"
    save_npz(make_synthetic_recording("poisson", n_bins=2000, stimulus_lags=4, seed=1), other)
    window.open_recording(other)
    assert population.panel.model.rowCount() == 0 and not population.outcomes


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_both_docks_fit_a_laptop_window_keeping_the_plots_readable(qtbot, window, units_path, size) -> None:
    population = fit_all_to_end(qtbot, window, units_path)
    window.apply_default_layout(*size)
    qtbot.wait(50)
    assert (window.width(), window.height()) == size  # the tab bar did not push the window past the screen
    inside = window.rect()
    for name, plot in window_plots(window).items():
        assert plot.height() >= MIN_PLOT_HEIGHT - 1, name
    dock = population.dock
    assert inside.contains(rect_in_window(window, dock))
    # the buttons and the progress are in view without scrolling; the table keeps its height (the dock scrolls)
    viewport = dock.widget().viewport()
    for widget in (population.panel.fit_all_button, population.panel.cancel_button, population.panel.progress_bar):
        top_left = widget.mapTo(viewport, QPoint(0, 0))
        assert viewport.rect().contains(QRect(top_left, widget.size())), widget
    assert population.panel.table.height() >= TABLE_MIN_HEIGHT


def test_the_coupling_matrix_slot_is_empty_and_hidden_until_given_a_view(qtbot, window, units_path) -> None:
    from PySide6.QtWidgets import QLabel

    window.open_recording(units_path)
    panel = window.population.panel
    area = panel.coupling_area
    assert area.objectName() == "coupling-matrix-area" and area.isHidden() and area.layout().count() == 0
    heat_maps = QLabel("heat maps")
    panel.set_coupling_view(heat_maps)
    assert not area.isHidden() and area.layout().itemAt(0).widget() is heat_maps
    assert panel.views.indexOf(area) == 1  # beside the table
    panel.set_coupling_view(None)
    assert area.isHidden() and area.layout().count() == 0
