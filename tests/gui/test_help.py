"""Help in the window (gui/window/help.py): the About box, its data tab, the user guide with its screenshots."""
from __future__ import annotations

import numba
import numpy as np
from PySide6.QtCore import qVersion

from vbgui.gui.about import AboutDialog
from vbgui.gui.user_guide import find_user_guide


def test_about_names_versions_licences_and_the_data_citation(qtbot) -> None:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    about = dialog.about_text.toPlainText()
    for text in ("BSD-3-Clause", qVersion(), np.__version__, numba.__version__):
        assert text in about
    data = dialog.data_text.toPlainText()
    for text in ("BSD 3-Clause", "NIPY Developers", "Rokem A, Watzl S, Gollisch T, Stemmler M, Herz AVM, Samengo I",
                 "J Neurophysiol 95:2541-2552", "nitime", "Redistribution and use in source and binary forms"):
        assert text in data


def test_help_opens_the_user_guide_with_its_screenshots(window) -> None:
    guide = find_user_guide()
    assert guide is not None and guide.name == "user-guide.md"
    window.user_guide_action.trigger()
    browser = window.user_guide.browser
    assert window.user_guide.isVisible()
    assert "five steps" in browser.toPlainText().lower()
    images = [line.split("](")[1].split(")")[0] for line in guide.read_text().splitlines() if line.startswith("![")]
    assert len(images) >= 5 and all((guide.parent / image).is_file() for image in images)


def test_the_data_menu_opens_the_about_box_on_its_data_tab(window) -> None:
    window.about_data_action.trigger()
    assert window.about_dialog.isVisible() and window.about_dialog.tabs.currentIndex() == 1
