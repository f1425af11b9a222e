"""The Population dock's coupling matrix: after a coupled batch, heat maps of the posterior mean and mean/sd of the
summed couplings (rows target, columns source), a readout of the cell under the mouse, a click that shows the
target unit's fit; none for an uncoupled batch; grey rows and columns for a unit that failed."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from vbgui.app.coupling import COUPLING_UNIT, coupling_matrix, describe_coupling
from vbgui.gui.coupling_view import MISSING_RGBA, SOURCE_LABEL, TARGET_LABEL, unit_ticks
from vbgui.gui.style import symmetric_bound
from vbgui.io.npz import save_units_npz
from vbgui.models.synthetic import make_coupled_population

BATCH_TIMEOUT_MS = 120_000
UNITS = 4
PRESET = ('likelihood = "poisson"\n[design]\nstimulus_lags = 3\nspike_history_lags = 1\ncoupling_lags = {lags}\n'
          '[fit]\nfamily = "{family}"\n')


def coupled_units(n_bins: int = 4000):
    return make_coupled_population(n_units=UNITS, n_bins=n_bins, stimulus_lags=3, spike_history_lags=1,
                                   coupling_lags=2, coupling_fraction=0.5, seed=6)


@pytest.fixture(scope="module")
def population_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("coupled") / "coupled-units.npz"
    save_units_npz(coupled_units(), path)
    return path


def open_and_fit(qtbot, window, recording_path, tmp_path, lags: int = 2, family: str = "full-rank"):
    preset = tmp_path / f"coupled-{lags}.toml"
    preset.write_text(PRESET.format(lags=lags, family=family))
    assert window.open_recording(recording_path), window.last_error
    assert window.open_preset(preset)
    population = window.population
    if lags:
        with qtbot.waitSignal(population.couplings_shown, timeout=BATCH_TIMEOUT_MS) as shown:
            assert population.fit_all()
        return population, shown.args[0]
    with qtbot.waitSignal(population.batch_finished, timeout=BATCH_TIMEOUT_MS):
        assert population.fit_all()
    return population, None


def scene_point(view, key: str, target: int, source: int):
    return view.plots[key].vb.mapViewToScene(QPointF(source, target))


def test_a_coupled_batch_draws_the_mean_and_mean_over_sd_by_target_and_source(qtbot, window, population_path,
                                                                            tmp_path) -> None:
    population, matrix = open_and_fit(qtbot, window, population_path, tmp_path)
    names = window.recording_file.unit_names
    results = [population.outcomes[i].result for i in range(UNITS)]
    expected = coupling_matrix(results, names)  # the matrix drawn is the app's, rows in file order
    assert matrix.units == names
    np.testing.assert_array_equal(matrix.mean, expected.mean)
    view = population.coupling_view
    area = population.panel.coupling_area
    assert area.isVisibleTo(population.panel) and area.geometry().width() > 100 and area.geometry().height() > 100
    for key, values in (("mean", expected.mean), ("z", expected.mean / expected.sd)):
        image = view.images[key]
        np.testing.assert_array_equal(image.image, values)  # row = target, column = source, unscaled
        bound = np.nanmax(np.abs(values))
        assert image.levels == pytest.approx((-bound, bound))  # centred on 0
        assert view.colour_bars[key].levels() == pytest.approx((-bound, bound))
        plot = view.plots[key]
        assert plot.getAxis("bottom").labelText == SOURCE_LABEL
        assert plot.vb.state["yInverted"]  # row 0 at the top
        ticks = plot.getAxis("left")._tickLevels
        assert sorted(label for level in ticks for _, label in level) == sorted(names)
        # the diagonal holds no coupling: grey beneath a transparent cell
        assert tuple(view.missing[key].image[1, 1]) == MISSING_RGBA and tuple(view.missing[key].image[0, 1]) == (
            0, 0, 0, 0)
    assert view.plots["mean"].getAxis("left").labelText == TARGET_LABEL
    assert COUPLING_UNIT in view.colour_bars["mean"].getAxis("left").labelText
    assert "posterior sds" in view.colour_bars["z"].getAxis("left").labelText
    assert "sum over 2 lags" in view.plots["mean"].titleLabel.text


def test_the_cell_under_the_mouse_is_named_and_a_click_shows_the_target_unit(qtbot, window, population_path,
                                                                             tmp_path) -> None:
    population, matrix = open_and_fit(qtbot, window, population_path, tmp_path)
    view = population.coupling_view
    target, source = 2, 0
    view._on_moved(scene_point(view, "z", target, source))
    text = view.readout.text()
    assert text == describe_coupling(matrix, target, source)
    assert text.startswith(f"{matrix.units[source]} → {matrix.units[target]} (source → target)")
    assert f"mean {matrix.mean[target, source]:+.3f} {COUPLING_UNIT}" in text
    assert f"sd {matrix.sd[target, source]:.3f}" in text and view.maps.toolTip() == text
    view._on_moved(scene_point(view, "mean", 1, 1))
    assert "own past is its spike history" in view.readout.text()
    view._on_moved(QPointF(-50, -50))  # outside both maps: the hint again
    assert view.readout.text().startswith("Rows: target (postsynaptic) unit")
    point = view.maps.mapFromScene(scene_point(view, "mean", target, source))
    with qtbot.waitSignal(population.unit_shown, timeout=30_000) as shown:
        qtbot.mouseClick(view.maps.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert shown.args == [target]
    assert window.result.unit == matrix.units[target]
    selected = population.panel.table.selectionModel().selectedRows()
    assert [population.panel.proxy.mapToSource(index).row() for index in selected] == [target]


def test_enlarge_floats_the_dock_large_enough_for_the_maps(qtbot, window, population_path, tmp_path) -> None:
    population, _ = open_and_fit(qtbot, window, population_path, tmp_path)
    population.coupling_view.enlarge_button.click()
    assert population.dock.isFloating()
    assert population.dock.width() >= 1000 or population.dock.width() == window.screen().availableGeometry().width()


def test_an_uncoupled_batch_draws_no_matrix_and_another_recording_clears_it(qtbot, window, population_path,
                                                                            tmp_path, small_recording_path) -> None:
    population, _ = open_and_fit(qtbot, window, population_path, tmp_path)
    assert population.coupling_view is not None
    open_and_fit(qtbot, window, population_path, tmp_path, lags=0)
    assert population.coupling_view is None and not population.panel.coupling_area.isVisibleTo(population.panel)
    open_and_fit(qtbot, window, population_path, tmp_path)
    window.open_recording(small_recording_path)
    assert population.coupling_view is None and not population.panel.coupling_area.isVisibleTo(population.panel)


def test_a_unit_without_a_fit_is_a_grey_row_and_column(qtbot) -> None:
    from vbgui.app.coupling import CouplingMatrix
    from vbgui.gui.coupling_view import CouplingView

    rng = np.random.default_rng(0)
    mean, sd = rng.normal(size=(3, 3)), rng.uniform(0.1, 0.2, (3, 3))
    for values in (mean, sd):
        np.fill_diagonal(values, np.nan)
        values[2, :] = values[:, 2] = np.nan  # unit c failed: no row, and no column in the others' fits
    matrix = CouplingMatrix(("a", "b", "c"), 1, mean, sd, mean[:, :, None], sd[:, :, None], np.full((3, 3), np.nan))
    view = CouplingView()
    qtbot.addWidget(view)
    view.resize(700, 300)
    view.show()
    view.show_matrix(matrix)
    missing = view.missing["z"].image
    assert all(tuple(missing[2, j]) == MISSING_RGBA and tuple(missing[j, 2]) == MISSING_RGBA for j in range(3))
    assert tuple(missing[0, 1]) == (0, 0, 0, 0)
    bound = np.nanmax(np.abs(mean / sd))
    assert list(view.images["z"].levels) == pytest.approx([-bound, bound])
    view._on_moved(scene_point(view, "mean", 2, 0))
    assert view.readout.text() == "a → c: no coupling estimated (a unit without a fit, or left out for unusable data)"
    view._on_moved(scene_point(view, "mean", 0, 1))
    assert "truth" not in view.readout.text() and "mean/sd" in view.readout.text()


def test_unit_ticks_name_every_unit_once_coarse_levels_first() -> None:
    names = tuple(f"u{i}" for i in range(20))
    levels = unit_ticks(names)
    assert levels[0] == [(0.0, "u0")]
    flat = [label for level in levels for _, label in level]
    assert sorted(flat) == sorted(names) and len(flat) == len(names)
    assert [value for value, _ in levels[1]] == [16.0]
    assert [len(level) for level in levels] == [1, 1, 1, 2, 5, 10]
    assert unit_ticks(("a",)) == [[(0.0, "a")]]


def test_symmetric_bound_ignores_nan_and_never_is_zero() -> None:
    assert symmetric_bound(np.array([[np.nan, -3.0], [2.0, np.nan]])) == 3.0
    assert symmetric_bound(np.full((2, 2), np.nan)) == 1.0
    assert symmetric_bound(np.zeros((2, 2))) == 1.0
