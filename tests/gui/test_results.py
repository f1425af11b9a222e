"""Exports from the window in every format, overwriting only when confirmed, and reopening a result file."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from tests.gui.window_helpers import run_to_end
from vbgui.errors import VbguiError
from vbgui.gui.main_window import MainWindow
from vbgui.io.exports import EXPORT_FORMATS, read_export

FIT_TIMEOUT_MS = 20_000


@pytest.fixture
def fitted(qtbot, window, small_recording_path):
    """The window after an exact full-rank fit of the small recording (ground truth known)."""
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    with qtbot.waitSignal(window.fit_finished, timeout=FIT_TIMEOUT_MS) as finished:
        window.run_fit()
    return window, finished.args[0]


def answer(monkeypatch, button: QMessageBox.StandardButton) -> list[str]:
    """Make the overwrite question answer ``button``; returns the questions asked."""
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda _parent, _title, text, *_args: asked.append(text) or button)
    return asked


@pytest.mark.parametrize("suffix", EXPORT_FORMATS)
def test_export_writes_every_format_and_reads_back(fitted, tmp_path, suffix) -> None:
    window, result = fitted
    path = tmp_path / f"fit{suffix}"
    assert window.write_result(path)
    back = read_export(path)
    assert back["names"] == list(result.names)
    np.testing.assert_array_equal(back["mean"], result.mean)
    assert back["metadata"]["family"] == "full-rank"
    assert str(path) in window.status_label.text()


def test_exporting_over_a_file_asks_first(fitted, tmp_path, monkeypatch) -> None:
    window, result = fitted
    path = tmp_path / "fit.csv"
    path.write_text("keep me")
    asked = answer(monkeypatch, QMessageBox.StandardButton.No)
    assert not window.write_result(path)
    assert path.read_text() == "keep me" and len(asked) == 1 and "fit.csv" in asked[0]
    asked = answer(monkeypatch, QMessageBox.StandardButton.Yes)
    assert window.write_result(path)
    assert read_export(path)["names"] == list(result.names) and len(asked) == 1


def test_a_result_reopens_without_refitting(qtbot, fitted, tmp_path, fresh_settings, monkeypatch) -> None:
    window, result = fitted
    path = tmp_path / "fit.json"
    window.write_result(path)
    other = MainWindow(settings=fresh_settings, load_sample=False)
    qtbot.addWidget(other)
    monkeypatch.setattr(other, "run_fit", lambda: pytest.fail("reopening must not refit"))
    assert other.open_result(path)
    assert other.runner is None
    np.testing.assert_array_equal(other.elbo_plot.elbo_curve.getData()[1], result.trace.elbo)
    assert len(other.posterior_plot.approximation_contours.curves[0].getData()[0]) > 100
    assert other.recording is not None and other.recording.source == result.recording
    assert other.parameters_panel.predicted_curve.getData()[1] is not None
    assert "ELBO" in other.summary_panel.text()
    assert other.export_action.isEnabled()
    assert "fit.json" in other.status_label.text() and "no refit" in other.status_label.text()


def test_a_result_whose_recording_has_gone_shows_what_it_can(qtbot, fitted, tmp_path, fresh_settings) -> None:
    window, result = fitted
    data = result.to_dict()
    data["recording"] = str(tmp_path / "gone.npz")
    path = tmp_path / "orphan.json"
    path.write_text(json.dumps(data))
    other = MainWindow(settings=fresh_settings, load_sample=False)
    qtbot.addWidget(other)
    assert other.open_result(path)
    assert "gone.npz no longer exists" in other.last_error
    assert other.recording is None
    np.testing.assert_array_equal(other.elbo_plot.elbo_curve.getData()[1], result.trace.elbo)
    assert len(other.posterior_plot.approximation_contours.curves[0].getData()[0]) > 100
    assert other.parameters_panel.rate_plot is None
    first_filter = other.parameters_panel.ci.getItem(1, 0)
    assert first_filter.getAxis("bottom").labelText == "lag (bins)"


def test_a_file_that_is_not_a_result_is_an_error(window, tmp_path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"hello": 1}')
    assert not window.open_result(path)
    assert "other.json" in window.last_error and window.result is None


def test_the_export_dialog_asks_once_before_replacing(fitted, tmp_path, monkeypatch) -> None:
    """Qt's own overwrite question is turned off; ours names every file of the export, once."""
    from PySide6.QtWidgets import QFileDialog

    window, result = fitted
    path = tmp_path / "fit.csv"
    window.write_result(path)
    dialogs: list[dict] = []

    def save_dialog(*args, **kwargs):
        dialogs.append(kwargs)
        return str(path), "CSV (*.csv)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    asked = answer(monkeypatch, QMessageBox.StandardButton.No)
    before = path.read_bytes()
    window.export_result()
    assert len(dialogs) == 1 and dialogs[0]["options"] & QFileDialog.Option.DontConfirmOverwrite
    assert len(asked) == 1 and "fit.csv" in asked[0] and "fit_cov.csv" in asked[0] and "fit_meta.json" in asked[0]
    assert path.read_bytes() == before
    asked = answer(monkeypatch, QMessageBox.StandardButton.Yes)
    window.export_result()
    assert len(asked) == 1 and read_export(path)["names"] == list(result.names)


@pytest.mark.parametrize("field, value, named", [("elbo", "nan", "'elbo' must be a number"),
                                                 ("iterations", -3, "'iterations' must be at least 0"),
                                                 ("preset", {}, "field 'preset'")])


def test_a_hostile_result_opens_a_dialog_naming_the_field(fitted, tmp_path, field, value, named) -> None:
    window, result = fitted
    data = result.to_dict()
    data[field] = value
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    assert not window.open_result(path)
    assert str(path) in window.last_error and named in window.last_error
    assert window.result is result  # the fit on screen is kept


def test_export_result_json_and_plots(qtbot, window, small_recording_path, tmp_path) -> None:
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    assert not window.export_action.isEnabled()
    result = run_to_end(qtbot, window)
    assert window.export_action.isEnabled()
    assert window.write_result(tmp_path / "result.json")
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["elbo"] == pytest.approx(result.elbo) and data["parameters"]["names"] == list(result.names)
    from vbgui.gui.export import export_plot

    for name, view in window.plot_views().items():
        for suffix in ("png", "svg"):
            written = export_plot(view, tmp_path / f"{name}.{suffix}")
            assert written.stat().st_size > 1000
    png = tmp_path / "ELBO.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    before = png.read_bytes()
    with pytest.raises(VbguiError, match="ELBO.png: already exists; not overwritten"):
        export_plot(window.elbo_plot, png)
    with pytest.raises(VbguiError, match="ELBO.png: already exists"):  # the dialog asked about "ELBO", not .png
        export_plot(window.elbo_plot, tmp_path / "ELBO", force=True)
    assert png.read_bytes() == before
    assert export_plot(window.elbo_plot, png, force=True) == png
    assert not [p for p in tmp_path.iterdir() if "vbgui-tmp" in p.name]
