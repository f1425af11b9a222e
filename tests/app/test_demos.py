"""Demo scenes replay identically; the theory matches the fits."""
from __future__ import annotations

import numpy as np
import pytest

from vbgui.app.demos import DEMO_NAMES, DemoScene, demo, load_scene, mean_field_theory, save_scene
from vbgui.core.fit2d import Gaussian2D, kl_gaussians, reverse_kl_fit
from vbgui.core.targets import CorrelatedGaussian
from vbgui.errors import VbguiError


def test_scenes_round_trip_through_files(tmp_path):
    scene = DemoScene("two-modes", rho=-0.4, seed=7, families=("full-rank",), target="mixture", options={"sep": 4})
    save_scene(scene, tmp_path / "s.json")
    assert load_scene(tmp_path / "s.json") == scene


@pytest.mark.parametrize("data,fragment", [
    ({"scene_version": 1, "demo": "nope", "rho": 0.1, "seed": 0, "families": []}, "no demonstration 'nope'"),
    ({"scene_version": 1, "demo": "two-modes", "rho": 1.5, "seed": 0, "families": []}, "rho must be"),
    ({"scene_version": 2}, "not a vbgui demo scene"),
    ({"scene_version": 1, "demo": "two-modes"}, "not a vbgui demo scene"),
])
def test_bad_scenes_are_refused(data, fragment):
    with pytest.raises(VbguiError, match=fragment):
        DemoScene.from_dict(data)


def test_every_demo_explains_itself():
    assert set(DEMO_NAMES) >= {"correlated-gaussian", "collinear-stimuli", "heavy-tails", "two-modes",
                               "noisy-gradients", "amortised-inference"}
    assert len(set(DEMO_NAMES)) == len(DEMO_NAMES)
    for name in DEMO_NAMES:
        assert len(demo(name).explanation) > 100


@pytest.mark.parametrize("rho", [-0.99, -0.6, 0.2, 0.99])
def test_theory_matches_the_fit(rho):
    kl, ratio = mean_field_theory(rho)
    target = CorrelatedGaussian(rho)
    fit = reverse_kl_fit(target, mean_field=True)
    assert kl_gaussians(fit, Gaussian2D(target.mean, target.cov)) == pytest.approx(kl, abs=1e-6)
    np.testing.assert_allclose(np.diag(fit.cov), ratio, rtol=1e-6)
