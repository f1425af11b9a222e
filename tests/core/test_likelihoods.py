"""Per-row expectations of the kernels against numerical integration (scipy.integrate.quad)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from tests.core import likelihood_oracle as oracle
from vbgui.core import kernels
from vbgui.core.likelihoods import RULES, Likelihood, gauss_hermite_standard_normal


def expectation_by_quadrature(f, mu: float, var: float) -> float:
    sd = np.sqrt(var)
    value, _ = integrate.quad(lambda eta: f(eta) * stats.norm.pdf(eta, mu, sd), mu - 12 * sd, mu + 12 * sd,
                              epsabs=1e-13, epsrel=1e-13, limit=200)
    return value


def row_terms(name: str, y: float, mu: float, var: float, noise_sd: float = 0.7, dispersion: float = 0.5):
    lik = Likelihood(name, noise_sd, dispersion)
    nodes, weights = gauss_hermite_standard_normal()
    X = np.ones((1, 1))
    total, grad_mean, grad_var, curvature = kernels.diagonal_pass(
        X, np.array([y]), np.array([mu]), np.array([var]), lik.code, lik.parameter, nodes, weights, True)
    return total + lik.log_normaliser(np.array([y])), grad_mean[0], grad_var[0], curvature[0, 0]


@pytest.mark.parametrize("name,y", [("poisson", 0.0), ("poisson", 3.0), ("bernoulli", 0.0), ("bernoulli", 1.0),
                                    ("gaussian", 0.4), ("negative-binomial", 0.0), ("negative-binomial", 4.0)])
@pytest.mark.parametrize("mu,var", [(0.0, 1e-4), (0.7, 0.019), (-1.0, 0.021), (0.0, 0.24), (-2.0, 0.5), (1.5, 2.0),
                                    (-0.5, 4.0)])
def test_expected_log_likelihood_and_derivatives_match_quadrature(name, y, mu, var):
    lik = Likelihood(name, 0.7, 0.5)
    e, d_mu, d_var, curvature = row_terms(name, y, mu, var)

    def log_p(eta):
        return float(oracle.log_prob(lik, np.array([y]), np.array([eta]))[0])

    reference = expectation_by_quadrature(log_p, mu, var)
    assert e == pytest.approx(reference, rel=1e-12, abs=1e-12)
    step = 1e-5
    d_mu_numeric = (expectation_by_quadrature(log_p, mu + step, var)
                    - expectation_by_quadrature(log_p, mu - step, var)) / (2 * step)
    d_var_numeric = (expectation_by_quadrature(log_p, mu, var + step)
                     - expectation_by_quadrature(log_p, mu, var - step)) / (2 * step)
    assert d_mu == pytest.approx(d_mu_numeric, rel=1e-6, abs=1e-8)
    assert d_var == pytest.approx(d_var_numeric, rel=1e-6, abs=1e-8)
    assert curvature == pytest.approx(-2 * d_var, rel=1e-12)


RULE_BOUNDS = np.cumsum([0] + [n for n, _ in RULES])


@pytest.mark.parametrize("rule", [slice(a, b) for a, b in zip(RULE_BOUNDS[:-1], RULE_BOUNDS[1:])])
def test_gauss_hermite_rules_integrate_normal_moments(rule):
    nodes, weights = (a[rule] for a in gauss_hermite_standard_normal())
    assert weights.sum() == pytest.approx(1.0, rel=1e-14)
    assert weights @ nodes ** 2 == pytest.approx(1.0, rel=1e-13)
    assert weights @ nodes ** 4 == pytest.approx(3.0, rel=1e-13)


@pytest.mark.parametrize("name,bad,fragment", [
    ("poisson", [0, -1, 2], "negative"), ("poisson", [0.5, 1], "non-integer"),
    ("bernoulli", [0, 2], "only 0 and 1"), ("gaussian", [0.0, np.nan], "NaN"), ("gaussian", [], "empty")])
def test_response_problems_are_named(name, bad, fragment):
    assert fragment in Likelihood(name).response_problem(np.array(bad, dtype=float))


def test_valid_responses_pass():
    assert Likelihood("poisson").response_problem(np.array([0.0, 3.0])) is None
    assert Likelihood("bernoulli").response_problem(np.array([0.0, 1.0])) is None
    assert Likelihood("gaussian").response_problem(np.array([-1.5, 2.0])) is None


@pytest.mark.parametrize("dispersion", [1e-3, 0.5, 10.0])
@pytest.mark.parametrize("y", [0.0, 5.0, 30.0])
def test_negative_binomial_expectation_accuracy_as_stated(dispersion, y):
    """The README's statement: relative error below 1e-12 for var <= 4 and below 1e-9 for var <= 9."""
    lik = Likelihood("negative-binomial", dispersion=dispersion)
    for mu in (-3.0, 0.0, 3.0):
        for var, bound in ((0.01, 1e-12), (0.2, 1e-12), (1.0, 1e-12), (4.0, 1e-12), (9.0, 1e-9)):
            e, *_ = row_terms("negative-binomial", y, mu, var, dispersion=dispersion)
            reference = expectation_by_quadrature(
                lambda eta: float(oracle.log_prob(lik, np.array([y]), np.array([eta]))[0]), mu, var)
            assert abs(e - reference) <= bound * abs(reference), (mu, var)


def test_negative_binomial_tends_to_poisson_as_dispersion_vanishes():
    y = np.array([0.0, 2.0, 7.0])
    eta = np.array([-1.0, 0.5, 2.0])
    poisson = row_terms("poisson", 7.0, 2.0, 0.3)
    nearly = row_terms("negative-binomial", 7.0, 2.0, 0.3, dispersion=1e-6)
    assert nearly[0] == pytest.approx(poisson[0], rel=1e-4)
    assert nearly[1] == pytest.approx(poisson[1], rel=1e-4)
    assert oracle.log_prob(Likelihood("negative-binomial", dispersion=1e-6), y, eta) == pytest.approx(
        oracle.log_prob(Likelihood("poisson"), y, eta), rel=1e-4)


@pytest.mark.parametrize("name", ["poisson", "negative-binomial"])
def test_counts_no_spike_train_can_have_are_refused(name):
    assert "no spike train" in Likelihood(name).response_problem(np.array([0.0, 1e300]))


@pytest.mark.parametrize("name", ["poisson", "bernoulli", "gaussian", "negative-binomial"])
def test_draws_have_the_model_mean(name):
    lik = Likelihood(name, 0.7, 0.5)
    eta = np.full(200_000, -0.4)
    draws = lik.draw(np.random.default_rng(3), eta)
    assert draws.mean() == pytest.approx(lik.mean_response(eta[:1])[0], rel=0.02)
    assert lik.response_problem(draws) is None
