"""The Amortise… dialog: how many units train the encoder, and how many exact passes refine its q.

The defaults are ``vbgui batch --amortise``'s (--train: min(60, usable units
- 1); --refine: 0); the spin boxes allow only what
:func:`vbgui.app.amortise.check_amortisable` accepts (1 to the usable units
less one; 0 to MAX_REFINE passes).
"""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

MAX_REFINE = 1000
NOTE = ("Every unit is also fitted to its optimum, and its evidence estimated, to measure its amortisation and "
        "approximation gaps: this takes longer than Fit all units.")


class AmortiseDialog(QDialog):
    """Asks for the training units and the refinement passes of amortised inference over ``usable`` units."""

    def __init__(self, usable: int, default_train: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Amortised inference")
        self.train = QSpinBox()
        self.train.setRange(1, max(1, usable - 1))
        self.train.setValue(default_train)
        self.train.setToolTip(f"Units fitted exactly to train the encoder: 1 to {max(1, usable - 1)} (the "
                              f"{usable} units with usable data less one to amortise). vbgui batch --train.")
        self.refine = QSpinBox()
        self.refine.setRange(0, MAX_REFINE)
        self.refine.setToolTip("Exact optimiser passes started from the encoder's q (0: its q as it is). "
                               "vbgui batch --refine.")
        note = QLabel(NOTE)
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Training units (fitted exactly)", self.train)
        form.addRow("Refinement passes", self.refine)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Amortise")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def settings(self) -> tuple[int, int]:
        """The chosen (training units, refinement passes)."""
        return self.train.value(), self.refine.value()
