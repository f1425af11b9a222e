"""Results: File > Export result, Export plot and Open result (a fit shown again from its file, no refit).

Save dialogs open in the folder used last, else the recording's, never
in the directory the application was started from.  An export that would
replace files asks once, naming every file it replaces.  A latent-dynamics
fit exports its own contract (:mod:`vbgui.io.lds_exports`, as ``vbgui export`` does).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox, QWidget

from vbgui.app.layout import layout_from_names, model_layout
from vbgui.app.result import FitResult
from vbgui.errors import VbguiError
from vbgui.gui.export import EXPORT_FILTER, export_plot
from vbgui.gui.preferences import Preferences
from vbgui.gui.window.actions import add_action
from vbgui.gui.window.fit_control import PROGRESS_FORMAT
from vbgui.gui.window.recordings import SAMPLE_RECORDING
from vbgui.io.exports import EXPORT_FORMATS, export_files, write_export
from vbgui.io.lds_exports import lds_export_files, write_lds_export
from vbgui.io.recording import Recording
from vbgui.io.result_json import read_json
from vbgui.models.preset import Preset

if TYPE_CHECKING:  # the engine (scipy, numba) loads in the background, not before the window shows
    from vbgui.app.fit import FitSession
    from vbgui.app.reopen import ReopenedFit
    from vbgui.app.shown_reference import ShownReference

EXPORT_FILTERS = {"JSON result (*.json)": ".json", "CSV table (*.csv)": ".csv", "NumPy arrays (*.npz)": ".npz",
                  "MATLAB struct (*.mat)": ".mat"}
PLOT_NAMES = ("Recording", "ELBO", "Posterior", "Parameters")


class ResultsController:
    """Writes the window's fit and plots to files and reopens result files into the window."""

    def __init__(self, window: QMainWindow, preferences: Preferences) -> None:
        self.window = window
        self.preferences = preferences
        self.open_result_action = add_action(window, "Open res&ult…", self.choose_result, "Ctrl+Shift+O",
                                             "Reopen a fit from its result file (.json): curves, parameters and "
                                             "contours, without refitting.")
        self.export_action = add_action(window, "&Export result…", self.export_result, "Ctrl+E",
                                        "Write the last fit's parameters with their provenance as JSON, CSV, "
                                        "NPZ or MATLAB (Ctrl+E).")
        self.export_plot_actions: dict[str, QAction] = {
            name: add_action(window, f"{name} plot…", lambda _=False, n=name: self.export_plot(n), None,
                             f"Save the {name.lower()} plot as PNG or SVG.")
            for name in PLOT_NAMES}

    def fill_export_menu(self, file_menu: QMenu) -> None:
        """Add Export result and the Export plot submenu to ``file_menu``."""
        file_menu.addAction(self.export_action)
        plot_menu = file_menu.addMenu("Export &plot")
        for action in self.export_plot_actions.values():
            plot_menu.addAction(action)

    # -- export -------------------------------------------------------------------------------------
    def export_result(self) -> None:
        """File > Export result: ask where (the format follows the chosen filter or suffix), then write."""
        result = self.window.result
        if result is None:
            self.window.show_error("Nothing to export", "Run a fit first.")
            return
        # Qt's own "replace?" question is off: write_result asks once, about every file of the export
        # (a CSV export also replaces FILE_cov.csv and FILE_meta.json, which Qt's question would not name).
        name = f"{Path(result.recording).stem or 'vbgui'}-result.json"
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export result",
                                                   os.path.join(self.save_folder(), name), ";;".join(EXPORT_FILTERS),
                                                   options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return
        if Path(path).suffix.lower() not in EXPORT_FORMATS:
            path += EXPORT_FILTERS.get(chosen, ".json")
        self.write_result(path)

    def confirm_overwrite(self, existing: list[Path]) -> bool:
        """Ask before replacing files (a modal question); True to replace."""
        names = "\n".join(str(p) for p in existing)
        answer = QMessageBox.question(self.window, "Replace the file?", f"{names}\nalready exists. Replace it?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def write_result(self, path: str | Path) -> bool:
        """Export the last fit in the format of ``path``'s extension; an existing file is replaced only if confirmed."""
        window = self.window
        path = Path(path)
        latent = not isinstance(window.result, FitResult)  # an LdsFitResult
        existing = [target for target in (lds_export_files if latent else export_files)(path) if target.exists()]
        if existing and not self.confirm_overwrite(existing):
            window.show_status(f"Not exported: {existing[0]} was kept.")
            return False
        try:
            data = window.result.to_dict()
            if latent:
                written = write_lds_export(data, path, force=bool(existing))
            else:
                diagnostics = window.diagnostics.diagnostics_of(window.result)
                if diagnostics is not None and "diagnostics" not in data:
                    data["diagnostics"] = diagnostics
                written = write_export(data, path, force=bool(existing))
        except VbguiError as exc:
            window.show_error("Cannot export the result", str(exc))
            return False
        self.preferences.save_folder = str(path.parent)
        window.show_status(f"Wrote the result to {', '.join(str(p) for p in written)}")
        return True

    def save_folder(self) -> str:
        """Where a save dialog opens: the folder used last, else the recording's (when it is the user's and
        writable), else the home folder; never the working directory the application was started from."""
        candidates = [self.preferences.save_folder]
        recording = self.window.recording
        if recording is not None and Path(recording.source).parent != SAMPLE_RECORDING.parent:
            candidates.append(str(Path(recording.source).parent))
        for folder in candidates:
            if folder and Path(folder).is_dir() and os.access(folder, os.W_OK):
                return str(Path(folder).resolve())
        return str(Path.home())

    def plot_views(self) -> dict[str, QWidget]:
        """The widget each File > Export plot entry saves, by its name in PLOT_NAMES."""
        window = self.window
        return {"Recording": window.recording_panel.plots, "ELBO": window.elbo_plot,
                "Posterior": window.posterior_plot.plot_widget, "Parameters": window.parameters_panel}

    def export_plot(self, name: str) -> None:
        """File > Export plot > ``name``: ask where, then save that plot as PNG or SVG."""
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export the {name.lower()} plot",
                                              os.path.join(self.save_folder(), f"{name.lower()}.png"), EXPORT_FILTER)
        if not path:
            return
        try:
            written = export_plot(self.plot_views()[name], path, force=True)  # the save dialog asked
        except VbguiError as exc:
            self.window.show_error("Cannot export the plot", str(exc))
            return
        self.preferences.save_folder = str(Path(written).parent)
        self.window.show_status(f"Saved the {name.lower()} plot to {written}")

    # -- reopening ----------------------------------------------------------------------------------
    def choose_result(self) -> None:
        """File > Open result: ask for a result file and show it."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a result", self.window.start_folder(),
                                              "vbgui results (*.json);;All files (*)")
        if path:
            self.open_result(path)

    def open_result(self, path: str | Path) -> bool:
        """Show a fit from its result file without refitting; the recording is read again if it still exists.
        A latent-dynamics result opens in the Latents view (:mod:`vbgui.gui.window.latents`)."""
        if self.window.is_fitting():
            self.window.show_error("Fit running", "Stop the running fit before opening a result.")
            return False
        from vbgui.app.reopen import reopen_result  # needs the engine; the window opens without it
        from vbgui.gui.window.latents import open_latents_result

        try:
            data = read_json(path)
            if open_latents_result(self.window, data, Path(path)):
                return True
            reopened = reopen_result(path, data)
        except VbguiError as exc:
            self.window.show_error("Cannot open the result", str(exc))
            return False
        self.show_reopened(reopened)
        return True

    def show_reopened(self, reopened: ReopenedFit) -> None:
        """Show a reopened fit: its preset (added to the list), recording when readable, curves, q and summary."""
        window, fit = self.window, self.window.fit
        result = reopened.result
        fit.reset_fit()
        window.preset_panel.add_preset(reopened.preset, f"{reopened.path.name} (preset)", str(reopened.path))
        if reopened.recording is not None:
            window.recordings.show_reopened_recording(reopened.recording)
        self.show_fit(result, reopened.preset, reopened.recording, reopened.session, reopened.reference)
        window.setWindowTitle(f"vbgui — {reopened.path.name}")
        shown = f"Reopened {reopened.path.name} (no refit)"
        if reopened.problem:
            window.show_error("Recording not available", f"{shown}: {reopened.problem}. Showing the ELBO curves, "
                              "the fitted filters, the summary and the contours; the predicted rate needs the data.")
        else:
            window.show_status(f"{shown}: fit of {Path(result.recording).name} with {fit.fit_label}.")
        fit.update_controls()
        window.result_reopened.emit(result)

    def show_fit(self, result: FitResult, preset: Preset, recording: Recording | None, session: FitSession | None,
                 reference: ShownReference | None) -> None:
        """Draw a finished fit in the panels (layout, reference, q, curves, summary) without refitting.

        The caller has cleared the previous fit and shown ``recording`` (None
        when the data are not available: the layout then comes from the fit's names).
        """
        window, fit = self.window, self.window.fit
        if recording is not None:
            layout = model_layout(preset, recording)
        else:
            layout = layout_from_names(result.names, preset.likelihood, result.first_row, result.recording)
        fit.layout, fit.latent_notes_shown = layout, False
        window.posterior_plot.set_model(result.names, result.truth)
        window.posterior_plot.set_reference(reference)
        window.parameters_panel.set_layout(layout, recording, result.truth)
        if session is not None:
            window.parameters_panel.attach(session)
        fit.fit_label = f"{result.family}, {result.estimator}"
        window.progress_bar.setFormat(PROGRESS_FORMAT)
        window.progress_bar.setRange(0, max(1, result.iterations))
        fit.show_result(result)
