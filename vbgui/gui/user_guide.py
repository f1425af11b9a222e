"""Help: the user guide (docs/user-guide.md) in a window of its own, with its screenshots."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

import vbgui

GUIDE_NAME = "user-guide.md"
PACKAGE_DIR = Path(vbgui.__file__).resolve().parent
# the bundle carries docs/ inside the package folder; a source checkout has it beside the package
GUIDE_CANDIDATES = (PACKAGE_DIR / "docs" / GUIDE_NAME, PACKAGE_DIR.parent / "docs" / GUIDE_NAME)
ONLINE_HINT = "The user guide is docs/user-guide.md in vbgui's source repository."


def find_user_guide() -> Path | None:
    """The user guide shipped with this installation, or None."""
    return next((path for path in GUIDE_CANDIDATES if path.is_file()), None)


class UserGuide(QDialog):
    """The Markdown guide rendered by a QTextBrowser; links to other pages of docs/ work, images show."""

    def __init__(self, guide: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("vbgui user guide")
        self.resize(900, 800)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(guide.parent)])
        self.browser.setSource(QUrl.fromLocalFile(str(guide)))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
