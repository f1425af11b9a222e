"""Ctrl-C on `vbgui fit`: exit 130 within a second, no result file, no temporary file; slow settings refused."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.cli_subprocess import interrupt_when
from vbgui.io.npz import save_npz
from vbgui.models.synthetic import make_synthetic_recording


@pytest.mark.slow
@pytest.mark.parametrize("n_bins,samples", [(300_000, 100), (20_000, 3000)], ids=["many-chunks", "one-chunk"])
def test_sigint_during_a_fit_exits_130_at_once_and_writes_nothing(tmp_path, n_bins, samples):
    recording = tmp_path / "big.npz"
    save_npz(make_synthetic_recording("poisson", n_bins=n_bins, stimulus_lags=20, spike_history_lags=0, seed=2),
             recording)
    out = tmp_path / "result.json"
    process = subprocess.Popen([sys.executable, "-m", "vbgui", "fit", "--preset", "poisson-glm", "--recording",
                                str(recording), "--out", str(out), "--estimator", "reparam", "--samples",
                                str(samples), "--max-iter", "100000"],
                               stderr=subprocess.PIPE, text=True)
    # once the fit is under way, inside a pass over the data
    status, elapsed, rest = interrupt_when(process, lambda line: line.startswith("iter"), settle_seconds=0.5)
    assert status == 130 and elapsed < 1.0, (status, elapsed, rest)
    assert "Traceback" not in rest and rest.strip().endswith("interrupted; nothing written")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npz"]


def test_a_fit_whose_steps_would_take_minutes_is_refused_before_it_starts(tmp_path):
    recording = tmp_path / "r.npz"
    save_npz(make_synthetic_recording("poisson", n_bins=10_000, stimulus_lags=20, spike_history_lags=0, seed=2),
             recording)
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "vbgui", "fit", "--preset", "poisson-glm", "--recording",
                                str(recording), "--out", str(tmp_path / "o.json"), "--estimator", "reparam",
                                "--samples", "100000"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2 and time.perf_counter() - start < 60
    assert completed.stderr.count("\n") == 1 and "one step of this fit would take about" in completed.stderr
    assert "fewer samples (--samples)" in completed.stderr and not (tmp_path / "o.json").exists()
