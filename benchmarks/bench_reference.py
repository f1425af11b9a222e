"""Reference-posterior benchmark: a 144,000-bin recording, the 26-parameter poisson-glm preset.

Measures, after a full-rank fit, the time to a ready reference posterior by
PSIS (importance sampling with the full-rank q) and by HMC (4 chains), the
HMC sampler's bulk effective samples per second, and, when NumPyro is
installed (``pip install "vbgui[benchmark]"``; never a runtime dependency),
NumPyro's NUTS on the same model and prior, scored with the same ESS code.
Times are printed beside a floor measured in the same run: one numpy
``X @ v`` pass over the design.

    python benchmarks/bench_reference.py [--bins 144000] [--seed 1] [--no-numpyro]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from timing import median_time  # benchmarks/ is on sys.path when run as a script
from vbgui.app.diagnose import DiagnosticsSettings, diagnose_session
from vbgui.app.fit import FitSession, warm_up_engine
from vbgui.core import hmc
from vbgui.core.convergence import ess_bulk, rhat
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording


def warm_up_sampler() -> None:
    """Compile (or load from cache) the batched likelihood kernel on a tiny problem."""
    from vbgui.core.elbo import GLMProblem
    from vbgui.core.likelihoods import Likelihood

    rng = np.random.default_rng(0)
    for name in ("poisson", "bernoulli"):
        problem = GLMProblem(rng.standard_normal((8, 2)), np.ones(8), Likelihood(name), 1.0)
        hmc.LogPosterior(problem)(np.zeros((2, 2)))


def numpyro_nuts(session: FitSession, q_mean: np.ndarray, chains: int, warmup: int, draws: int, seed: int):
    """NUTS (dense mass matrix, as our default) on the same model; returns (warmup s, sampling s, draws)."""
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS, init_to_value

    jax.config.update("jax_enable_x64", True)
    problem = session.problem
    X = jnp.asarray(problem.design.materialise())
    y = jnp.asarray(problem.response)

    def model():
        w = numpyro.sample("w", dist.Normal(0.0, problem.prior_scale).expand([problem.dim]).to_event(1))
        numpyro.sample("y", dist.Poisson(jnp.exp(X @ w)), obs=y)

    kernel = NUTS(model, dense_mass=True, init_strategy=init_to_value(values={"w": jnp.asarray(q_mean)}))
    mcmc = MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=chains, chain_method="sequential",
                progress_bar=False)
    start = time.perf_counter()
    mcmc.warmup(jax.random.PRNGKey(seed), collect_warmup=False)
    warmup_seconds = time.perf_counter() - start
    start = time.perf_counter()
    mcmc.run(mcmc.post_warmup_state.rng_key)
    samples = mcmc.get_samples(group_by_chain=True)["w"]
    jax.block_until_ready(samples)
    return warmup_seconds, time.perf_counter() - start, np.asarray(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=144_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-numpyro", action="store_true")
    parser.add_argument("--numpyro-chains", type=int, default=1)
    parser.add_argument("--numpyro-warmup", type=int, default=300)
    parser.add_argument("--numpyro-draws", type=int, default=300)
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}")
    recording = make_synthetic_recording(n_bins=args.bins, stimulus_lags=20, spike_history_lags=5, dt=0.001,
                                         mean_response=0.03, seed=args.seed)
    warm_up_engine()
    warm_up_sampler()
    session = FitSession(load_preset("poisson-glm"), recording)
    result = session.run()
    X = session.problem.design.materialise()
    v = np.random.default_rng(0).standard_normal(X.shape[1])
    floor = median_time(lambda: X @ v)
    print(f"design: {X.shape[0]:,} bins x {X.shape[1]} parameters, {int(recording.response.sum())} spikes; "
          f"floor, one numpy X @ v pass: {floor * 1e3:.1f} ms")
    print(f"full-rank fit: {result.iterations} iterations, {result.seconds:.2f} s, ELBO {result.elbo:.3f} "
          f"({result.stop_reason})")

    start = time.perf_counter()
    by_psis = diagnose_session(session, result, DiagnosticsSettings(reference="psis", seed=args.seed))
    psis_seconds = time.perf_counter() - start
    ref = by_psis.reference_posterior
    print(f"PSIS reference ready in {psis_seconds:.2f} s (= {psis_seconds / floor:.0f} x floor): "
          f"{by_psis.iw_draws} draws, k-hat {by_psis.psis_khat:.2f} ({by_psis.psis_verdict}), "
          f"ESS {ref.effective_draws:.0f}; IW evidence {by_psis.iw_log_evidence:.3f} +- "
          f"{by_psis.iw_log_evidence_se:.3f}, gap estimate {by_psis.gap_estimate:.4f} nats")

    start = time.perf_counter()
    by_hmc = diagnose_session(session, result, DiagnosticsSettings(reference="hmc", seed=args.seed))
    hmc_seconds = time.perf_counter() - start
    summary = by_hmc.hmc_summary
    ess_per_second = summary["ess_bulk_min"] / summary["seconds"]
    print(f"HMC reference ready in {hmc_seconds:.2f} s (= {hmc_seconds / floor:.0f} x floor): "
          f"{summary['chains']} chains x ({summary['warmup']} warm-up + {summary['draws']}) iterations, "
          f"{summary['gradient_evaluations']} gradients per chain, step {summary['step_size']:.3f}, "
          f"acceptance {summary['accept_rate']:.2f}, max R-hat {summary['rhat_max']:.4f}, "
          f"min bulk ESS {summary['ess_bulk_min']:.0f}, {summary['divergences']} divergences")
    print(f"HMC: {ess_per_second:.0f} min-bulk-ESS per second (warm-up included); sd ratio q/HMC "
          f"{np.min(by_hmc.sd_ratio):.3f}..{np.max(by_hmc.sd_ratio):.3f}; reference valid: "
          f"{by_hmc.reference_posterior.valid}")
    start = time.perf_counter()
    auto = diagnose_session(session, result, DiagnosticsSettings(seed=args.seed))
    print(f"auto (what 'vbgui fit --diagnose' does): reference '{auto.reference}' ready in "
          f"{time.perf_counter() - start:.2f} s")

    if args.no_numpyro:
        return
    try:
        import numpyro  # noqa: F401
    except ImportError:
        print("NumPyro not installed: pip install 'vbgui[benchmark]' to compare")
        return
    warmup_s, sampling_s, draws = numpyro_nuts(session, result.mean, args.numpyro_chains, args.numpyro_warmup,
                                               args.numpyro_draws, args.seed)
    columns = [draws[:, :, d] for d in range(draws.shape[2])]
    nuts_ess = min(ess_bulk(c) for c in columns)
    nuts_rhat = max(rhat(c) for c in columns)
    nuts_rate = nuts_ess / (warmup_s + sampling_s)
    print(f"NumPyro NUTS (dense mass, {args.numpyro_chains} chain(s) x ({args.numpyro_warmup} warm-up + "
          f"{args.numpyro_draws})): warm-up incl. compile {warmup_s:.1f} s, sampling {sampling_s:.1f} s, "
          f"min bulk ESS {nuts_ess:.0f}, max R-hat {nuts_rhat:.3f}: {nuts_rate:.0f} ESS/s (warm-up included), "
          f"{nuts_ess / sampling_s:.0f} ESS/s sampling only")
    ours_sampling = summary["ess_bulk_min"] / max(1e-9, summary["seconds"])
    print(f"vbgui HMC / NumPyro NUTS, min-bulk-ESS per second (warm-up included): {ours_sampling / nuts_rate:.1f}x")


if __name__ == "__main__":
    main()
