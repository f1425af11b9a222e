"""The dialog that maps a file's own variable names to the roles vbgui reads (counts, stimulus, dt, ...).

Shown when a .mat or CSV/TSV file does not use the standard names: the
loader's message on top, one combo box per role listing what the file
holds, and a bin-width field for files that carry no dt or time column.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout,
                               QWidget)

from vbgui.io.loaders import LoadOptions

NOT_GIVEN = "(standard name)"
ROLE_HELP = {
    "counts": "spike counts per bin: a vector, or one column per unit",
    "response": "a continuous response per bin (instead of counts)",
    "stimulus": "the stimulus per bin: a vector, or one column per stimulus",
    "dt": "the bin width in seconds (a single number)",
    "spike_times": "spike times in seconds (a vector, or a cell array with one vector per unit)",
    "duration": "the recording's length in seconds (with spike times)",
    "unit_names": "names of the units (a cell array of strings)",
    "time": "the time of each row in seconds (sets the bin width)",
}


def _initial_choice(role: str, names: list[str]) -> str:
    return role if role in names else NOT_GIVEN


class VariablesDialog(QDialog):
    """Pick, for each role, the variable of ``path`` that holds it; read the choice with :meth:`options`."""

    def __init__(self, path: str | Path, message: str, roles: tuple[str, ...], names: list[str],
                 previous: LoadOptions | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.setWindowTitle(f"Choose the variables of {self.path.name}")
        self.setMinimumWidth(520)
        explanation = QLabel(f"{message}<br><br>Say which variable of <b>{self.path.name}</b> holds what "
                             "(leave “(standard name)” to use the usual name):")
        explanation.setWordWrap(True)
        form = QFormLayout()
        self.choices: dict[str, QComboBox] = {}
        chosen = previous.variables if previous is not None else {}
        for role in roles:
            combo = QComboBox()
            combo.addItems([NOT_GIVEN, *names])
            combo.setCurrentText(chosen.get(role, _initial_choice(role, names)))
            combo.setToolTip(f"{role}: {ROLE_HELP.get(role, role)}.")
            self.choices[role] = combo
            form.addRow(f"{role}:", combo)
        self.dt_edit = QLineEdit("" if previous is None or previous.dt is None else repr(previous.dt))
        self.dt_edit.setPlaceholderText("e.g. 0.001 (only if the file has no dt or time)")
        validator = QDoubleValidator(0.0, 1e6, 12, self.dt_edit)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        self.dt_edit.setValidator(validator)
        self.dt_edit.setToolTip("Bin width in seconds, needed when the file carries neither a dt variable nor a "
                                "time column.")
        form.addRow("bin width dt (s):", self.dt_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

    def choose(self, role: str, name: str) -> None:
        """Select ``name`` for ``role`` (as a user would in the combo box)."""
        self.choices[role].setCurrentText(name)

    def options(self) -> LoadOptions:
        """The load options the form describes (roles left at the standard name are not remapped)."""
        variables = {role: combo.currentText() for role, combo in self.choices.items()
                     if combo.currentText() != NOT_GIVEN}
        text = self.dt_edit.text().strip()
        try:
            dt = float(text) if text else None
        except ValueError:  # half-typed ("1e"): the loader rejects a NaN dt with a message naming the file
            dt = float("nan")
        return LoadOptions(variables=variables, dt=dt)
