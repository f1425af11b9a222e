"""Build a small Kilosort/phy output folder in a test: spike arrays, params.py and the cluster labels."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

PARAMS_TEXT = """dat_path = r'C:\\\\data\\\\session.bin'
n_channels_dat = 385
dtype = 'int16'
offset = 0
sample_rate = {rate!r}
hp_filtered = False
"""


def write_phy_folder(folder: Path, samples, clusters, labels: Mapping[int, str], sample_rate: float = 30000.0,
                     label_file: str = "cluster_group.tsv", id_column: str = "cluster_id") -> Path:
    """Write ``folder`` as Kilosort writes it (uint64 sample indices, int32 clusters); return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "spike_times.npy", np.asarray(samples, dtype=np.uint64).reshape(-1, 1))  # Kilosort: (N, 1)
    np.save(folder / "spike_clusters.npy", np.asarray(clusters, dtype=np.int32))
    (folder / "params.py").write_text(PARAMS_TEXT.format(rate=sample_rate))
    rows = "".join(f"{cluster}\t{label}\n" for cluster, label in labels.items())
    (folder / label_file).write_text(f"{id_column}\tgroup\n{rows}")
    return folder


def random_session(n_spikes: int, n_clusters: int, n_samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sorted sample indices in [0, n_samples) and a cluster id in [0, n_clusters) for each."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.integers(0, n_samples, n_spikes)), rng.integers(0, n_clusters, n_spikes)
