"""A latent-dynamics preset fits every unit together: a batch (one GLM per unit) refuses it in one line, in the
command line (`vbgui batch`, exit 2, nothing written) and in the app layer the Population dock calls."""
from __future__ import annotations

import pytest

from tests.cli_subprocess import assert_refused, run_vbgui
from vbgui.app.population import check_population_fit
from vbgui.errors import FitError
from vbgui.io.loaders import read_recording_file
from vbgui.models.preset import PRESET_DIR, load_preset


def test_vbgui_batch_refuses_a_latent_dynamics_preset_and_writes_nothing(tmp_path):
    out = tmp_path / "batch"
    completed = run_vbgui("batch", "--preset", "poisson-lds", "--recording", "synthetic-poisson-lds", "--out", out)
    assert_refused(completed, "--preset", "poisson-lds", "latent-dynamics", "vbgui fit")
    assert not out.exists()


def test_a_population_fit_refuses_a_latent_dynamics_preset():
    recording = read_recording_file(PRESET_DIR.parent / "recordings" / "synthetic-poisson-lds.npz")
    with pytest.raises(FitError, match="poisson-lds: a latent-dynamics preset fits every unit together"):
        check_population_fit(recording, load_preset("poisson-lds"), "synthetic-poisson-lds.npz")
    assert check_population_fit(recording, load_preset("poisson-glm"), "synthetic-poisson-lds.npz") is None
