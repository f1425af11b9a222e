"""One-sentence explanations of every term a control shows, used as tooltips."""
from __future__ import annotations

TOOLTIPS: dict[str, str] = {
    "preset_list": "Model presets: the shipped ones and any TOML file you opened; pick one to load its settings.",
    "likelihood": "How the response is modelled given the linear predictor: poisson counts (log link), "
                  "bernoulli 0/1 spikes (logit link) or a gaussian continuous value (identity link).",
    "stimulus_lags": "Stimulus lags: how many past bins of the stimulus (including the present one) "
                     "the temporal filter weighs.",
    "spike_history_lags": "Spike-history lags: how many previous bins of the neuron's own response feed back "
                          "into its rate (refractoriness, bursting).",
    "coupling_lags": "Coupling lags K: the past counts of every other unit of a multi-unit recording, K bins "
                     "back each, as regressors (a coupled population GLM, Pillow et al. 2008); 0 for none.",
    "bias": "Bias: a constant regressor, whose weight sets the baseline rate.",
    "standardize": "Standardise: z-score each stimulus column before its lags are built, so weights are "
                   "per standard deviation of the stimulus.",
    "prior_scale": "Prior scale s: every weight has the prior N(0, s²); smaller s pulls weights harder "
                   "towards zero.",
    "noise_sd": "Noise sd σ of the gaussian likelihood, in the response's units (gaussian likelihood only).",
    "dispersion": "Dispersion a of the negative binomial: Var[y] = μ + a·μ² (a → 0 is Poisson; larger a, "
                  "more over-dispersed counts). Negative-binomial likelihood only.",
    "family": "Variational family of q: mean-field = independent weights (diagonal covariance); full-rank = "
              "any correlation between weights; structured = correlations within each group of weights "
              "(stimulus filter, history, bias) only; low-rank = a diagonal plus k directions of correlation "
              "(exact estimator).",
    "estimator": "ELBO estimator: exact = closed-form expectations with a Newton fixed-point optimiser; "
                 "reparam = Monte Carlo samples w = m + L·ε with Adam (noisy, works for any model); "
                 "score-function = the same samples, gradients from the score of q (REINFORCE: far noisier).",
    "rank": "Rank k of the low-rank family: q's covariance is diag(d) + V·Vᵀ with V of k columns, so k "
            "directions of correlation are kept at a cost that grows with k, not with the square of the "
            "number of weights.",
    "latent_dim": "Latent dim K: how many hidden states x_t drive the population's rates (from 1 to the number of "
                  "units of the recording); every unit is fitted together, through the loadings C.",
    "path_family": "Latent-path family of q over x_1..x_T: structured-markov = correlations between adjacent "
                   "bins kept (block-tridiagonal precision, as exact as full-rank at a cost linear in T); "
                   "mean-field = every bin independent; full-rank = a dense covariance over the whole path "
                   "(small T x K only, the check).",
    "max_iter": "Maximum iterations: the fit stops here even if it has not converged.",
    "seed": "Random seed of the Monte Carlo draws (Monte Carlo estimators), so a fit can be repeated exactly.",
    "samples": "Monte Carlo samples of w per iteration (Monte Carlo estimators): more samples, less noisy "
               "gradients, slower iterations.",
    "learning_rate": "Adam step size (Monte Carlo estimators): larger moves faster but noisier.",
    "run": "Run the fit of the current preset on the loaded recording (Ctrl+R).",
    "pause": "Pause or resume the running fit (Space).",
    "stop": "Stop the fit now and keep the last approximation reached.",
    "reset": "Stop any fit and clear the curves, contours and summary.",
    "save_preset": "Save the settings in the form as a preset TOML file.",
    "param_x": "Parameter on the horizontal axis of the posterior plot.",
    "param_y": "Parameter on the vertical axis of the posterior plot.",
    "keep_fit": "Keep the current approximation as a dashed overlay, then run another family to compare.",
    "clear_kept": "Remove the kept comparison fit from the posterior plot.",
    "elbo": "ELBO = accuracy − complexity: a lower bound on the log evidence log p(data), in nats.",
    "accuracy": "Accuracy: the expected log-likelihood E_q[log p(y | w)], how well weights drawn from q "
                "explain the data.",
    "complexity": "Complexity: KL(q ‖ prior), how far q moved away from the prior; the price paid for "
                  "fitting the data.",
    "hpd": "Contours hold 39 %, 86 % and 99 % of the probability (highest posterior density regions; "
           "Mahalanobis radii 1, 2 and 3.035 for a Gaussian).",
}
