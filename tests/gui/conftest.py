"""GUI test setup: offscreen Qt, settings in a temporary folder, small recordings."""
from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from vbgui.app.fit import warm_up_engine  # noqa: E402
from vbgui.gui.style import configure_pyqtgraph  # noqa: E402
from vbgui.io.npz import save_npz  # noqa: E402
from vbgui.models.synthetic import make_synthetic_recording  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point QSettings at a temporary folder so tests never touch the user's settings."""
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    configure_pyqtgraph()
    warm_up_engine()  # compile once, so timings in the tests measure the GUI, not numba


@pytest.fixture(scope="package", autouse=True)
def garbage_collected_on_the_gui_thread(qapp):
    """As in the application: gc only on the GUI thread, never inside a fit or diagnostics worker."""
    from vbgui.gui.collect_garbage import collect_on_gui_thread, restore_automatic_collection

    collector = collect_on_gui_thread()
    yield
    restore_automatic_collection(collector)


@pytest.fixture(scope="session")
def small_recording_path(tmp_path_factory: pytest.TempPathFactory):
    """A 5000-bin poisson recording with ground truth, saved as .npz."""
    path = tmp_path_factory.mktemp("recordings") / "small-poisson.npz"
    save_npz(make_synthetic_recording("poisson", n_bins=5000, stimulus_lags=6, spike_history_lags=2,
                                      dt=0.005, mean_response=0.1, seed=4), path)
    return path


@pytest.fixture(scope="session")
def large_recording_path(tmp_path_factory: pytest.TempPathFactory):
    """A recording long enough that a reparam fit runs for seconds (for Stop and close-mid-fit)."""
    path = tmp_path_factory.mktemp("recordings") / "large-poisson.npz"
    save_npz(make_synthetic_recording("poisson", n_bins=200_000, stimulus_lags=10, spike_history_lags=0,
                                      dt=0.005, mean_response=0.1, seed=5), path)
    return path


@pytest.fixture
def fresh_settings(tmp_path) -> QSettings:
    """A settings store of this test only (window layout, last preset and recent files start empty)."""
    return QSettings(str(tmp_path / "vbgui-settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, fresh_settings):
    from vbgui.gui.main_window import MainWindow

    win = MainWindow(settings=fresh_settings, load_sample=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.close()
    gc.collect()  # collect this test's windows here, on the GUI thread
