"""The About box: vbgui's version and licence, the shipped data's licence and citation, library versions."""
from __future__ import annotations

import html
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

import vbgui

RECORDINGS = Path(vbgui.__file__).resolve().parent / "resources" / "recordings"
APP_LICENCE = "BSD-3-Clause"


@dataclass(frozen=True)
class DataCredit:
    """Where a shipped recording comes from, under which licence, and what to cite."""

    title: str
    files: tuple[str, ...]
    origin: str
    licence: str
    licence_file: Path
    citation: str
    short_credit: str  # one line for the recording panel


GRASSHOPPER = DataCredit(
    title="Grasshopper auditory receptor neurons (Locusta migratoria)",
    files=("grasshopper-receptor-1.npz", "grasshopper-receptor-2.npz"),
    origin="from the nitime project (nitime/data/grasshopper_*.txt), spikes binned at 1 ms and the stimulus "
           "envelope averaged over each 1 ms bin by tools/make_grasshopper.py",
    licence="BSD 3-Clause licence, Copyright (c) 2006-2011, NIPY Developers",
    licence_file=RECORDINGS / "grasshopper-LICENSE-nitime.txt",
    citation="Rokem A, Watzl S, Gollisch T, Stemmler M, Herz AVM, Samengo I (2006). Spike-timing precision "
             "underlies the coding efficiency of auditory receptor neurons. J Neurophysiol 95:2541-2552.",
    short_credit="real grasshopper auditory receptor recording (nitime, BSD 3-Clause, NIPY developers); "
                 "recorded for Rokem et al. (2006) J Neurophysiol 95:2541-2552",
)
SHIPPED_DATA = (GRASSHOPPER,)


def credit_for(source: str | Path) -> DataCredit | None:
    """The credit of a shipped recording file, or None for the user's own data."""
    name = Path(source).name
    return next((credit for credit in SHIPPED_DATA if name in credit.files), None)


def library_versions() -> dict[str, str]:
    """The versions of what runs the window and the engine, as the About box lists them."""
    import numba  # the engine's: loaded by now, imported here so the window need not wait for it
    return {"Python": platform.python_version(), "Qt": qVersion(), "PySide6": PySide6.__version__,
            "pyqtgraph": pg.__version__, "numpy": np.__version__, "numba": numba.__version__}


def about_html() -> str:
    """vbgui's version, licence and the versions of the libraries in use."""
    versions = "".join(f"<tr><td>{name}</td><td>{version}</td></tr>" for name, version in library_versions().items())
    return (f"<h2>vbgui {html.escape(vbgui.__version__)}</h2>"
            "<p>Explore variational Bayesian fits of generalised linear models of neural data: the ELBO, its "
            "accuracy and complexity terms, and the approximate against the true posterior.</p>"
            f"<p>Licence: {APP_LICENCE}.</p>"
            "<p>The shipped recordings have their own licence and citation: see the <b>Data</b> tab.</p>"
            f"<h3>Running on</h3><table cellspacing='4'>{versions}</table>")


def data_html(credit: DataCredit = GRASSHOPPER) -> str:
    """Title, origin, licence, citation and the full licence text of a shipped data set."""
    try:
        licence_text = credit.licence_file.read_text(encoding="utf-8").strip()
    except OSError:
        licence_text = f"(the licence file {credit.licence_file.name} is missing from this installation)"
    return (f"<h3>{html.escape(credit.title)}</h3>"
            f"<p>Files: {', '.join(credit.files)}, {html.escape(credit.origin)}.</p>"
            f"<p><b>Licence:</b> {html.escape(credit.licence)}.</p>"
            f"<p><b>Please cite:</b> {html.escape(credit.citation)}</p>"
            f"<pre style='font-size:small'>{html.escape(licence_text)}</pre>")


class AboutDialog(QDialog):
    """Two tabs: vbgui (version, licence, library versions) and Data (licence and citation of the samples)."""

    def __init__(self, parent: QWidget | None = None, tab: str = "vbgui") -> None:
        super().__init__(parent)
        self.setWindowTitle("About vbgui")
        self.resize(640, 560)
        self.tabs = QTabWidget()
        self.about_text = QTextBrowser()
        self.about_text.setHtml(about_html())
        self.data_text = QTextBrowser()
        self.data_text.setHtml(data_html())
        self.tabs.addTab(self.about_text, "vbgui")
        self.tabs.addTab(self.data_text, "Data")
        self.tabs.setCurrentIndex(1 if tab == "data" else 0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
