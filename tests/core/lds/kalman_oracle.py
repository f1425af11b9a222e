"""An independent oracle: the Kalman filter and Rauch-Tung-Striebel smoother in covariance form.

For x_0 ~ N(mu0, Sigma0), x_{t+1} = A x_t + b + B u_t + N(0, Q), y_t = C x_t + d + N(0, R),
the filter's one-step predictive densities give the exact log evidence
log p(y_0..T-1) = sum_t log N(y_t; C m_t|t-1 + d, C P_t|t-1 C' + R); the smoother gives
the posterior means, marginal covariances and Cov(x_t, x_{t+1} | y) = P_t|T G_t'... written
out below as in Shumway & Stoffer (2017), Property 6.3 (lag-one covariance via the smoother gain).
"""
from __future__ import annotations

import numpy as np


def kalman_smoother(A, b, Q, mu0, Sigma0, C, d, R, y, B=None, u=None):
    """(log evidence, smoothed means (T, K), covariances (T, K, K), Cov(x_t, x_{t+1} | y) (T-1, K, K));
    ``B`` (K, M) and ``u`` (T, M) the input, if any."""
    n_steps, size = y.shape[0], A.shape[0]
    pred_mean = np.zeros((n_steps, size))
    pred_cov = np.zeros((n_steps, size, size))
    filt_mean = np.zeros((n_steps, size))
    filt_cov = np.zeros((n_steps, size, size))
    log_evidence = 0.0
    mean, cov = mu0, Sigma0
    for t in range(n_steps):
        pred_mean[t], pred_cov[t] = mean, cov
        innovation = y[t] - (C @ mean + d)
        innovation_cov = C @ cov @ C.T + R
        sign, logdet = np.linalg.slogdet(2 * np.pi * innovation_cov)
        log_evidence += -0.5 * (logdet + innovation @ np.linalg.solve(innovation_cov, innovation))
        gain = cov @ C.T @ np.linalg.inv(innovation_cov)
        mean = mean + gain @ innovation
        cov = cov - gain @ C @ cov
        filt_mean[t], filt_cov[t] = mean, cov
        drive = b if B is None else b + B @ u[t]
        mean, cov = A @ mean + drive, A @ cov @ A.T + Q
    smooth_mean = filt_mean.copy()
    smooth_cov = filt_cov.copy()
    cross = np.zeros((n_steps - 1, size, size))
    for t in range(n_steps - 2, -1, -1):
        gain = filt_cov[t] @ A.T @ np.linalg.inv(pred_cov[t + 1])
        smooth_mean[t] = filt_mean[t] + gain @ (smooth_mean[t + 1] - pred_mean[t + 1])
        smooth_cov[t] = filt_cov[t] + gain @ (smooth_cov[t + 1] - pred_cov[t + 1]) @ gain.T
        cross[t] = gain @ smooth_cov[t + 1]  # Cov(x_t, x_{t+1} | y)
    return log_evidence, smooth_mean, smooth_cov, cross
