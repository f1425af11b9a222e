"""Convert nitime's grasshopper auditory receptor recordings into vbgui sample recordings.

Source: the nitime wheel (BSD 3-Clause, NIPY developers), files
nitime/data/grasshopper_spike_times{1,2}.txt (spike times in microseconds,
after a '#' header) and nitime/data/grasshopper_stimulus{1,2}.txt (time in
microseconds and stimulus amplitude envelope, sampled at 20 kHz).  Recorded
for Rokem et al. (2006) J Neurophysiol 95:2541-2552.

Output: resources/recordings/grasshopper-receptor-{1,2}.npz with spikes
binned at 1 ms (`counts`) and the stimulus envelope averaged over each 1 ms
bin (`stimulus`), `dt` = 0.001.  Run once:

    python tools/make_grasshopper.py            # downloads the wheel with pip
    python tools/make_grasshopper.py --wheel nitime-0.12.1-...whl
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from vbgui.io.npz import save_npz
from vbgui.io.recording import Recording
from vbgui.io.spike_times import bin_spike_times

BIN_SECONDS = 0.001
SAMPLES_PER_SECOND = 20_000
OUT = Path(__file__).resolve().parent.parent / "resources" / "recordings"


def convert(spike_text: str, stimulus_text: str, name: str) -> Recording:
    spike_us = np.loadtxt(spike_text.splitlines(), comments="#", ndmin=1)
    stimulus = np.loadtxt(stimulus_text.splitlines(), comments="#")
    time_us, amplitude = stimulus[:, 0], stimulus[:, 1]
    step_us = 1e6 / SAMPLES_PER_SECOND
    if not np.allclose(np.diff(time_us), step_us):
        raise SystemExit(f"{name}: stimulus is not sampled at {SAMPLES_PER_SECOND} Hz")
    per_bin = int(round(BIN_SECONDS * SAMPLES_PER_SECOND))
    n_bins = amplitude.size // per_bin
    envelope = amplitude[: n_bins * per_bin].reshape(n_bins, per_bin).mean(axis=1)
    counts = bin_spike_times(spike_us * 1e-6, BIN_SECONDS, n_bins, source=name, variable="spike times")
    return Recording(counts, BIN_SECONDS, name, stimulus=envelope, response_name="counts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded nitime wheel (default: pip download it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "nitime==0.12.1", "-d", tmp],
                           check=True)
            wheel = next(Path(tmp).glob("nitime-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for cell in (1, 2):
                spikes = archive.read(f"nitime/data/grasshopper_spike_times{cell}.txt").decode()
                stimulus = archive.read(f"nitime/data/grasshopper_stimulus{cell}.txt").decode()
                recording = convert(spikes, stimulus, f"grasshopper receptor cell {cell}")
                path = OUT / f"grasshopper-receptor-{cell}.npz"
                save_npz(recording, path)
                print(f"{path}: {recording.n_bins} bins, {int(recording.response.sum())} spikes, "
                      f"{recording.mean_rate():.1f} Hz")
            licence = next(n for n in archive.namelist() if n.endswith("LICENSE"))
            (OUT / "grasshopper-LICENSE-nitime.txt").write_bytes(archive.read(licence))


if __name__ == "__main__":
    main()
