"""The dialog that asks how to read a Kilosort/phy folder: the bin width, and a stimulus file or none.

Shown when File > Open recording folder (or a dropped folder, or Open
recent) names a Kilosort/phy output folder; accepting it reads the folder
with those choices (:class:`vbgui.io.loaders.LoadOptions`).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from vbgui.io.frame_stimulus import EXTENSIONS as STIMULUS_EXTENSIONS
from vbgui.io.loaders import LoadOptions

STIMULUS_FILTER = f"Stimulus files ({' '.join('*' + suffix for suffix in STIMULUS_EXTENSIONS)})"


class PhyFolderDialog(QDialog):
    """Ask for the bin width and the stimulus file of the phy folder ``folder``; read them with :meth:`options`."""

    def __init__(self, folder: str | Path, message: str = "", previous: LoadOptions | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.setWindowTitle(f"Open the Kilosort/phy folder {self.folder.name}")
        self.setMinimumWidth(560)
        problem = f"{message}<br><br>" if message else ""
        explanation = QLabel(f"{problem}The clusters labelled good in <b>{self.folder.name}</b> become units. Choose "
                             "the bin width, and a stimulus file holding the stimulus and its frame times "
                             "(arrays or columns 'stimulus' and 'frame_times'), or none.")
        explanation.setWordWrap(True)
        self.dt_edit = QLineEdit("" if previous is None or previous.dt is None else repr(previous.dt))
        self.dt_edit.setPlaceholderText("e.g. 0.01 (blank with a stimulus: its frame interval)")
        validator = QDoubleValidator(0.0, 1e6, 12, self.dt_edit)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        self.dt_edit.setValidator(validator)
        self.dt_edit.setToolTip("Bin width in seconds. Required without a stimulus file; with one, blank means "
                                "one bin per stimulus frame.")
        self.stimulus_edit = QLineEdit("" if previous is None else previous.stimulus_path or "")
        self.stimulus_edit.setPlaceholderText("none (spikes only)")
        self.stimulus_edit.setToolTip(f"{STIMULUS_FILTER}: the stimulus, one row per frame, and the frame onset "
                                      "times in seconds on the spikes' clock.")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.choose_stimulus)
        stimulus_row = QHBoxLayout()
        stimulus_row.addWidget(self.stimulus_edit)
        stimulus_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("bin width dt (s):", self.dt_edit)
        form.addRow("stimulus file:", stimulus_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def choose_stimulus(self) -> None:
        """Browse for the stimulus file (starting in the folder's parent, where experiment files usually sit)."""
        path, _ = QFileDialog.getOpenFileName(self, "Stimulus file", str(self.folder.parent),
                                              f"{STIMULUS_FILTER};;All files (*)")
        if path:
            self.stimulus_edit.setText(path)

    def options(self) -> LoadOptions:
        """The load options the form describes."""
        text = self.dt_edit.text().strip()
        try:
            dt = float(text) if text else None
        except ValueError:  # half-typed ("1e"): the loader refuses a NaN dt with a message naming the folder
            dt = float("nan")
        stimulus = self.stimulus_edit.text().strip()
        return LoadOptions(dt=dt, stimulus_path=stimulus or None)
