"""A screenshot of the Latents view, for review and for the README (``docs/images/latents.png``).

Fits the shipped ``synthetic-poisson-lds`` recording with the ``poisson-lds`` preset (as
``vbgui fit`` does; about a minute) unless ``--result`` names a latent-dynamics result file,
opens that result in a main window with File > Open result, and saves the Latents window.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1080x24" python tools/latents_screenshot.py
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from screenshot_helpers import grab, settle  # tools/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "images" / "latents.png"
RECORDING = REPO / "vbgui" / "resources" / "recordings" / "synthetic-poisson-lds.npz"


def fitted_result(folder: Path) -> Path:
    """Fit the shipped synthetic population and write its result into ``folder``."""
    from vbgui.app.lds_fit import LdsFitSession
    from vbgui.io.loaders import read_recording_file
    from vbgui.io.result_json import write_json
    from vbgui.models.preset import load_preset

    result = LdsFitSession(load_preset("poisson-lds"), read_recording_file(RECORDING)).run()
    path = folder / "synthetic-poisson-lds-result.json"
    write_json(result.to_dict(), path, force=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--result", type=Path, help="a latent-dynamics result file (default: fit one)")
    parser.add_argument("--out", type=Path, default=OUT, help="the PNG to write (default docs/images/latents.png)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    from vbgui.gui.style import configure_pyqtgraph

    configure_pyqtgraph()
    from vbgui.gui.main_window import MainWindow
    from vbgui.gui.window.latents import latents_view

    with tempfile.TemporaryDirectory() as folder:
        result = args.result or fitted_result(Path(folder))
        window = MainWindow(settings=QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat),
                            load_sample=False)
        window.show()
        if not window.open_result(result):
            raise SystemExit(f"{result}: {window.last_error}")
        view = latents_view(window, create=False)
        settle(app, 1.0)
        grab(view, args.out)
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
