"""Unexpected exceptions while the application runs: a dialog, a log file, and the app keeps running.

:func:`install_exception_hook` replaces ``sys.excepthook`` (PySide6 routes an
exception raised in a slot through it) for as long as the application
runs.  Each exception is appended to ``vbgui.log`` in the user's data folder
(QStandardPaths.AppDataLocation) and shown in a non-blocking dialog with the
message and a "Copy details" button that puts the traceback on the clipboard.
"""
from __future__ import annotations

import html
import sys
import traceback
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Iterator

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

import vbgui

LOG_NAME = "vbgui.log"


def log_path() -> Path:
    """The log file in the user's data folder (created when needed)."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / LOG_NAME


def append_to_log(details: str, path: Path | None = None) -> Path | None:
    """Append a time-stamped entry; returns the file, or None when it cannot be written (never raises)."""
    path = path or log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now().isoformat(timespec='seconds')} vbgui {vbgui.__version__}\n{details}\n")
    except OSError:
        return None
    return path


class ErrorDialog(QDialog):
    """The message of an unexpected error, where it was logged, the traceback, and a "Copy details" button."""

    def __init__(self, message: str, details: str, logged_to: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unexpected error")
        self.details = details
        where = f"The details were written to {logged_to}." if logged_to else "The log file could not be written."
        self.message = QLabel(f"<b>{html.escape(message)}</b><br><br>vbgui keeps running; your data and the last "
                              f"fit are unchanged. {html.escape(where)}")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_view = QPlainTextEdit(details)
        self.details_view.setReadOnly(True)
        self.details_view.setToolTip("The traceback: where in vbgui the error happened.")
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy the error and its traceback to the clipboard, to paste in a bug report.")
        self.copy_button.clicked.connect(self.copy_details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(buttons)
        self.resize(640, 400)

    def copy_details(self) -> None:
        QApplication.clipboard().setText(self.details)


class ExceptionReporter:
    """The ``sys.excepthook`` in use while the application runs; keeps the last dialog for tests."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent
        self.dialog: ErrorDialog | None = None

    def __call__(self, kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        details = "".join(traceback.format_exception(kind, error, trace))
        print(details, file=sys.stderr, end="")
        logged_to = append_to_log(details)
        if QApplication.instance() is None:
            return
        self.dialog = ErrorDialog(f"{kind.__name__}: {error}", details, logged_to, self.parent)
        self.dialog.open()


@contextmanager
def install_exception_hook(parent: QWidget | None = None) -> Iterator[ExceptionReporter]:
    """Report unexpected exceptions through an :class:`ExceptionReporter` inside the ``with`` block."""
    reporter = ExceptionReporter(parent)
    previous = sys.excepthook
    sys.excepthook = reporter
    try:
        yield reporter
    finally:
        sys.excepthook = previous
