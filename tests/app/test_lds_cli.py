"""`vbgui fit --preset poisson-lds` and `vbgui export` of its result, in subprocesses, with the hostile cases."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli_subprocess import assert_refused, run_vbgui
from vbgui.io.lds_exports import read_lds_export
from vbgui.models.lds_synthetic import make_lds_population


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lds")
    out = folder / "fit.json"
    completed = run_vbgui("fit", "--preset", "poisson-lds", "--recording", "synthetic-poisson-lds", "--out", out,
                          "--quiet", timeout=600)
    assert completed.returncode == 0, completed.stderr
    return folder, out, json.loads(out.read_text())


def test_the_shipped_population_is_what_its_generator_makes():
    recording, _, _ = make_lds_population()
    shipped = np.load("resources/recordings/synthetic-poisson-lds.npz")
    np.testing.assert_array_equal(shipped["counts"], recording.responses)


def test_fit_writes_the_latents_and_recovers_the_true_path(fitted):
    """Measured on the shipped population (3000 bins, 30 units, 3 latents): R^2 of the true latents on the
    fitted means (affine alignment) 0.940, 0.918 and 0.927; converged in 51 iterations."""
    _, _, data = fitted
    assert data["model"] == "latent-dynamics" and data["family"] == "structured-markov"
    mean = np.array(data["latents"]["mean"])
    assert mean.shape == (3000, 3) and np.array(data["latents"]["sd"]).shape == (3000, 3)
    assert np.array(data["latents"]["cross_cov"]).shape == (2999, 3, 3)
    assert np.array(data["lds_parameters"]["C"]).shape == (30, 3)
    assert np.all(np.diff(data["trace"]["elbo"]) >= 0)
    _, path, _ = make_lds_population()
    design = np.column_stack([mean, np.ones(len(mean))])
    coef, *_ = np.linalg.lstsq(design, path, rcond=None)
    r_squared = 1 - (path - design @ coef).var(axis=0) / path.var(axis=0)
    assert np.all(r_squared > 0.9), r_squared


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".mat"])
def test_every_export_carries_the_latents_and_the_parameters(fitted, suffix):
    folder, out, data = fitted
    target = folder / f"export{suffix}"
    completed = run_vbgui("export", out, "--to", target)
    assert completed.returncode == 0, completed.stderr
    back = read_lds_export(target)
    np.testing.assert_allclose(back["latent_mean"], data["latents"]["mean"], rtol=1e-15)
    np.testing.assert_allclose(back["latent_sd"], data["latents"]["sd"], rtol=1e-15)
    np.testing.assert_allclose(back["latent_cross_cov"], data["latents"]["cross_cov"], rtol=1e-15)
    for name in ("A", "b", "Q", "mu0", "Sigma0", "C", "d"):
        np.testing.assert_allclose(np.squeeze(back[name]), np.squeeze(data["lds_parameters"][name]), rtol=1e-15)
    assert back["metadata"]["elbo"] == data["elbo"]
    assert data["latents"]["trial_start"] == [0] and np.squeeze(back["trial_start"]).tolist() == 0
    assert "B" not in back and "B" not in data["lds_parameters"]  # no stimulus input in this preset
    if suffix == ".csv":
        assert target.read_text().splitlines()[0] == "bin,trial,x1_mean,x2_mean,x3_mean,x1_sd,x2_sd,x3_sd"


def write_counts(path, counts):
    np.savez(path, counts=np.asarray(counts), dt=np.array(0.01))
    return path


@pytest.mark.parametrize("case,fragments", [
    ("latent_dim above units", ("latent_dim = 3 is more than the 2 unit",)),
    ("one bin", ("needs at least 2 bins",)),
    ("nan counts", ("NaN or Inf",)),
    ("latent_dim zero", ("'latent_dim' must be an integer from 1 to 100",)),
    ("unit flag", ("--unit: not for a latent-dynamics preset",)),
    ("glm with a path family", ("is a latent-path family; it needs 'latent_dim'",)),
])
def test_bad_inputs_are_refused_in_one_line_and_nothing_is_written(tmp_path, case, fragments):
    preset, recording, extra = "poisson-lds", "synthetic-poisson-lds", []
    if case == "latent_dim above units":
        recording = write_counts(tmp_path / "two.npz", np.ones((40, 2), dtype=int))
    elif case == "one bin":
        recording = write_counts(tmp_path / "short.npz", np.ones(1, dtype=int))  # (1, N) would read as N bins
    elif case == "nan counts":
        counts = np.ones((40, 5))
        counts[4, 1] = np.nan
        recording = write_counts(tmp_path / "nan.npz", counts)
    elif case == "latent_dim zero":
        preset = tmp_path / "zero.toml"
        preset.write_text('likelihood = "poisson"\nlatent_dim = 0\n')
    elif case == "unit flag":
        extra = ["--unit", "0"]
    else:
        preset, recording, extra = "poisson-glm", "synthetic-poisson", ["--family", "structured-markov"]
    out = tmp_path / "out.json"
    completed = run_vbgui("fit", "--preset", preset, "--recording", recording, "--out", out, *extra)
    assert_refused(completed, *fragments)
    assert not out.exists()


def test_a_damaged_latent_result_is_not_exported(fitted, tmp_path):
    _, out, data = fitted
    data = json.loads(json.dumps(data))
    data["latents"]["sd"][10][2] = -0.5
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(data))
    completed = run_vbgui("export", damaged, "--to", tmp_path / "x.csv")
    assert_refused(completed, "latents.sd", "must hold positive numbers")
    assert list(tmp_path.iterdir()) == [damaged]
