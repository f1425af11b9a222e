"""The main window's Demos menu: each demonstration one click away."""
from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from vbgui.app.demos import DEMOS
from vbgui.gui.close_with_owner import CloseWithOwner


def demos_window(owner: QMainWindow, create: bool = True):
    """The owner's demos window (a separate top-level window, child of ``owner``), created on first use."""
    from vbgui.gui.demos.window import DemosWindow  # the pages load only when a demo is first opened

    found = owner.findChild(DemosWindow)
    if found is None and create:
        found = DemosWindow(parent=owner)
        found.resize(1600, 1000)
    return found


def open_demo(owner: QMainWindow, name: str):
    """Show the demos window on demonstration ``name`` and bring it to the front."""
    window = demos_window(owner)
    window.show_demo(name)
    window.show()
    window.raise_()
    window.activateWindow()
    return window


def install_demos_menu(owner: QMainWindow) -> None:
    """Add a Demos menu to ``owner``'s menu bar, one entry per demonstration."""
    menu = owner.menuBar().addMenu("&Demos")
    for index, info in enumerate(DEMOS):
        action = menu.addAction(f"&{index + 1}  {info.title}")
        action.setStatusTip(f"Open the demonstration '{info.title}' in the talk-mode window")
        action.triggered.connect(lambda _=False, n=info.name: open_demo(owner, n))
    owner.installEventFilter(CloseWithOwner(lambda main: demos_window(main, create=False), owner))
