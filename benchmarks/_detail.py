"""``calibration.py fit``: the detail term's factor per metric (``capture_noise.json``'s
``detail_sd``; :func:`mesovision.noise_capture.detail_sd`).

For each metric of :data:`mesovision.noise_capture.DETAIL_FAMILIES`, the null changes of the
selected rows are modelled as ``delta ~ a x sqrt(se^2 + capture^2 + (kappa x |ln r| x m)^2) x
t(DETAIL_FIT_DF)``: ``se`` the measured terms, ``capture`` a constant (a share of ``m`` for a
relative metric), ``r`` the pair's detail ratio and ``m`` the larger of the two values. ``a``,
``capture`` and ``kappa`` are fitted by maximum likelihood; ``kappa`` is kept where it raises the
log-likelihood by more than :data:`MIN_GAIN` over the fit without it (else 0). ``a`` and
``capture`` are only there to fit ``kappa`` against: the capture term and the null references
are fitted after it, with it, as before.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DETAIL_FIT_DF", "MIN_GAIN", "MIN_DETAIL_CHANGES", "fit_detail"]

#: Degrees of freedom of the t the fit assumes: about the texture family's null reference's.
DETAIL_FIT_DF = 6.0
#: Log-likelihood gain that keeps a metric's factor: half the 99 % point of chi-square(1).
MIN_GAIN = 3.32
#: Fewest changes (with a measured detail ratio, at least half of them moved) a factor is
#: fitted on.
MIN_DETAIL_CHANGES = 200


def _nll(d, s, x, cap_unit, a_log, c_log, k_log):
    from scipy.stats import t as student

    sd = np.exp(a_log) * np.sqrt(s**2 + (np.exp(c_log) * cap_unit) ** 2 + (np.exp(k_log) * x) ** 2)
    return -float(np.sum(student.logpdf(d / sd, DETAIL_FIT_DF) - np.log(sd)))


def _fit_one(d, s, x, cap_unit) -> tuple[float, float]:
    """``(kappa, log-likelihood gain over kappa = 0)`` of one metric's changes."""
    from scipy.optimize import minimize

    off = minimize(lambda p: _nll(d, s, x, cap_unit, p[0], p[1], -40.0), [0.0, -3.0],
                   method="Nelder-Mead")  # fmt: skip
    on = minimize(lambda p: _nll(d, s, x, cap_unit, *p), [*off.x, -1.0], method="Nelder-Mead",
                  options={"maxiter": 2000, "xatol": 1e-6, "fatol": 1e-6})  # fmt: skip
    return float(np.exp(on.x[2])), float(off.fun - on.fun)


def fit_detail(t: dict[str, np.ndarray], sel: np.ndarray, *, verbose: bool = False):
    """``{metric: kappa}`` fitted on the rows ``sel`` of a run (``calibration.load``) that have
    the between-region term (``compare`` adds the detail term with it only)."""
    from mesovision.noise import relative_capture, standard_error
    from mesovision.noise_capture import DETAIL_FAMILIES

    out: dict[str, float] = {}
    log_r = np.abs(np.log(t["detail_ratio"]))
    mag = np.maximum(np.abs(t["before"]), np.abs(t["after"]))
    terms = ("se_paired", "sd_registration", "sd_recapture", "sd_counting")
    se = standard_error(*(t[k] for k in terms), 0.0, t["sd_field"])
    for m in sorted(set(t["metric"][sel])):
        if m.split(".", 1)[0] not in DETAIL_FAMILIES:
            continue
        rows = sel & (t["metric"] == m) & np.isfinite(log_r) & np.isfinite(se) & (se > 0)
        rows &= np.isfinite(mag) & t["field"]  # the term goes with the between-region term
        d = t["delta"][rows]
        if d.size < MIN_DETAIL_CHANGES or np.mean(d != 0) < 0.5:
            continue
        cap_unit = mag[rows] if relative_capture(m) else np.ones(d.size)
        kappa, gain = _fit_one(d, se[rows], log_r[rows] * mag[rows], cap_unit)
        if verbose:
            print(f"detail {m}: kappa {kappa:.4g}, log-likelihood +{gain:.1f} ({d.size} changes)")
        if gain > MIN_GAIN:
            out[m] = float(f"{kappa:.4g}")
    return out
