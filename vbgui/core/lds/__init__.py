"""Linear dynamical systems with Gaussian variational posteriors over the latent path (no Qt, no files).

    model.py         the LDS prior: parameters, E_q[log p(x)], its gradient and precision blocks
    observations.py  E_q[log p(y | x)] through the likelihood registry, its derivatives, the loadings' Newton step
    blocktri.py      block-tridiagonal Cholesky, solve, log-determinant and selected inverse (numba)
    families.py      structured-markov, mean-field (over time) and full-rank q over the path
    elbo.py          the exact ELBO (every constant kept)
    estep.py         Newton on the means and the covariance fixed point, line-searched
    mstep.py         the dynamics (A, b, B, Q, mu0, Sigma0) in closed form
    loading_prior.py the optional Gaussian prior on C and d (a MAP M-step for the loadings)
    em.py            variational EM, a generator of reports with cancellation
    names.py         the family and likelihood names (no numba: presets import them)
    sample.py        draws from the model and a starting point for its parameters
"""
