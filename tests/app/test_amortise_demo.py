"""The computation behind the "Amortised inference" demonstration: its gaps, its q's and its refusals."""
from __future__ import annotations

import numpy as np
import pytest

from vbgui.app.amortise_demo import DEMO_PAIR, amortised_demo
from vbgui.errors import VbguiError


def test_the_held_out_unit_gets_the_gaps_and_three_q_s():
    demo = amortised_demo(n_train=20, seed=1, evidence_draws=500)
    assert demo.names[demo.pair[0]] == DEMO_PAIR[0] and demo.names[demo.pair[1]] == DEMO_PAIR[1]
    assert 0.0 <= demo.refined_gap <= demo.amortisation_gap
    assert demo.approximation_gap >= -3 * demo.log_evidence_se
    # the exact fit is the optimum: its ELBO is the largest, and its mean is where one pass is heading
    assert demo.exact_elbo >= demo.refined_elbo >= demo.encoder_elbo
    assert np.linalg.norm(demo.refined.mean - demo.exact.mean) <= np.linalg.norm(demo.encoder.mean - demo.exact.mean)
    assert min(demo.encode_seconds, demo.fit_seconds, demo.train_seconds) > 0


@pytest.mark.parametrize("n_train", [2, 81])
def test_training_sizes_outside_the_range_are_refused(n_train):
    with pytest.raises(VbguiError, match="trains on 3 to 80 units"):
        amortised_demo(n_train=n_train)
