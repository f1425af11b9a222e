"""Engine benchmark: a Poisson GLM on a 1,000,000-bin synthetic recording with 20 regressors.

Every time is printed beside a floor measured in the same run: one numpy
``X @ v`` pass over the same design (the memory floor of any method that
reads the data).  With NumPyro installed (``pip install "vbgui[benchmark]"``)
its SVI (AutoNormal = mean-field, AutoMultivariateNormal = full-rank) runs on
the first 100,000 bins and its final q is scored with our exact ELBO.

    python benchmarks/bench_engine.py [--bins 1000000] [--numpyro-steps 10000]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from timing import median_time  # benchmarks/ is on sys.path when run as a script
from vbgui.app.fit import FitSession, warm_up_engine
from vbgui.core.elbo import ExactEstimator, GLMProblem
from vbgui.core.families import GaussianPosterior
from vbgui.core.optimize import newton_fixed_point
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording


def session_for(recording, family: str) -> FitSession:
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=19, spike_history_lags=0))
    return FitSession(preset.with_fit(family=family, max_iter=100), recording)


def converge(session: FitSession) -> tuple[float, int, float, GaussianPosterior]:
    """Wall time (including the starting pass), iterations, final ELBO and q."""
    start = time.perf_counter()
    q0 = session.initial_q()
    optimizer = newton_fixed_point(ExactEstimator(session.problem), q0, 100, 1e-10)
    reports = []
    try:
        while True:
            reports.append(next(optimizer))
    except StopIteration as stop:
        outcome = stop.value
    seconds = time.perf_counter() - start
    assert outcome.converged, outcome.message
    return seconds, len(reports), reports[-1].terms.elbo, outcome.q


def numpyro_fit(problem: GLMProblem, guide_name: str, steps: int, seed: int = 0):
    """NumPyro SVI on the same model and prior; returns (seconds, q as mean and cov)."""
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal

    jax.config.update("jax_enable_x64", True)
    X = jnp.asarray(problem.design.materialise())
    y = jnp.asarray(problem.response)

    def model():
        w = numpyro.sample("w", dist.Normal(0.0, problem.prior_scale).expand([problem.dim]).to_event(1))
        numpyro.sample("y", dist.Poisson(jnp.exp(X @ w)), obs=y)

    guide = (AutoNormal if guide_name == "AutoNormal" else AutoMultivariateNormal)(model)
    svi = SVI(model, guide, numpyro.optim.Adam(0.01), Trace_ELBO())
    start = time.perf_counter()
    result = svi.run(jax.random.PRNGKey(seed), steps, progress_bar=False)
    jax.block_until_ready(result.params)
    seconds = time.perf_counter() - start
    if guide_name == "AutoNormal":
        mean = np.asarray(result.params["w_auto_loc"])
        cov = np.diag(np.asarray(result.params["w_auto_scale"]) ** 2)
    else:
        mean = np.asarray(result.params["auto_loc"])
        chol = np.asarray(result.params["auto_scale_tril"])
        cov = chol @ chol.T
    return seconds, mean, cov


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=1_000_000)
    parser.add_argument("--numpyro-bins", type=int, default=100_000)
    parser.add_argument("--numpyro-steps", type=int, default=10_000)
    args = parser.parse_args()

    recording = make_synthetic_recording("poisson", n_bins=args.bins, stimulus_lags=19, dt=0.001,
                                         mean_response=0.05, stimulus_correlation=0.9, seed=1)
    warm_up_engine()
    sessions = {family: session_for(recording, family) for family in ("mean-field", "full-rank")}
    X = sessions["full-rank"].problem.design.materialise()
    v = np.random.default_rng(0).standard_normal(X.shape[1])
    floor = median_time(lambda: X @ v)
    print(f"design: {X.shape[0]:,} bins x {X.shape[1]} regressors ({X.nbytes / 1e6:.0f} MB)")
    print(f"floor, one numpy X @ v pass: {floor * 1e3:.1f} ms")

    rows = []
    for family, session in sessions.items():
        estimator = ExactEstimator(session.problem)
        q = session.initial_q()
        one = median_time(lambda: estimator.gradient(q))
        seconds, iterations, elbo, _ = converge(session)
        seconds = min(seconds, converge(session)[0])
        rows.append((family, one, seconds, iterations, elbo))
        print(f"{family:10s} one exact ELBO+gradient: {one * 1e3:7.1f} ms = {one / floor:5.2f} x floor;  "
              f"converged (rel. change < 1e-10) in {iterations} iterations, {seconds:.3f} s "
              f"= {seconds / floor:5.1f} x floor;  ELBO {elbo:.4f}")

    try:
        import numpyro  # noqa: F401
    except ImportError:
        print("NumPyro not installed: pip install 'vbgui[benchmark]' to compare")
        return
    small = recording.__class__(recording.response[:args.numpyro_bins], recording.dt, recording.source,
                                stimulus=recording.stimulus[:args.numpyro_bins])
    for family, guide_name in (("mean-field", "AutoNormal"), ("full-rank", "AutoMultivariateNormal")):
        session = session_for(small, family)
        ours_seconds, _, ours_elbo, _ = converge(session)
        ours_seconds = min(ours_seconds, converge(session)[0])
        numpyro_fit(session.problem, guide_name, 10)  # compile
        seconds, mean, cov = numpyro_fit(session.problem, guide_name, args.numpyro_steps)
        q = GaussianPosterior(session.family, mean, np.linalg.cholesky(cov))
        theirs = ExactEstimator(session.problem).value(q).elbo
        print(f"{args.numpyro_bins:,} bins, {family}: vbgui {ours_seconds:.3f} s, ELBO {ours_elbo:.3f};  NumPyro "
              f"{guide_name} {args.numpyro_steps} Adam steps {seconds:.2f} s, exact ELBO of its q {theirs:.3f} "
              f"({ours_elbo - theirs:.2f} nats short);  vbgui {seconds / ours_seconds:.0f}x faster")


if __name__ == "__main__":
    main()
