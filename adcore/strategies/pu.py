"""Deep positive-unlabelled anomaly detection (PU paper Sec. 3, Eq. 11-13, Alg. 1)."""
import torch

from adcore.registry import STRATEGIES, Param
from adcore.strategies.base import Strategy, labeled_mask, masked_mean


@STRATEGIES.register
class PU(Strategy):
    """The PU objective for a contaminated unlabelled pool U and labelled anomalies A.

    With L^+ = L_a (ℓ_BCE(x, 1)) and L^- = L_n (ℓ_BCE(x, 0)), per mini-batch
    (Eq. 11): L_A^+ = mean_A L_a, L_U^- = mean_U L_n, L_A^- = mean_A L_n, and
    ``correction``:

    - ``abs`` (Eq. 13, the paper's method): α L_A^+ + |L_U^- − α L_A^-|;
    - ``nn`` (Kiryo et al. 2017, non-negative PU): α L_A^+ + (L_U^- − α L_A^-)
      while L_U^- − α L_A^- ≥ −β, otherwise a step on −γ (L_U^- − α L_A^-);
    - ``none``: the unbiased estimate Eq. 11 (can run to −∞, Sec. 3.1).

    α is the member's assumed anomaly share of U (Eq. 6). L_U^- − α L_A^-
    estimates (1 − α) E_N[L_n] (Eq. 12), so the backbone's L_n must be
    non-negative (true of every backbone here except ``maf``, whose NLL can be
    negative). ``deepsvdd`` → PUSVDD (Eq. 14-15), ``ae`` → PUAE, ``bce`` with
    ``nn`` → the nnPU classifier baseline. A batch without labelled anomalies
    trains on L_U^- alone.
    """

    name = "pu"
    description = "PU: unbiased positive-unlabelled risk; corrects for anomalies hidden in the unlabelled data."
    paper = "PU paper Eq. 11-13, Alg. 1; Kiryo et al. 2017 (nn)"
    uses_labels = True
    params = (
        Param("correction", "abs", str, choices=("abs", "nn", "none"),
              help="abs: |L_U⁻ − α L_A⁻| (PU Eq. 13); nn: non-negative PU (Kiryo et al.); none: unbiased Eq. 11"),
        Param("beta", 0.0, float, 0.0, 1e3, help="nn: the threshold −β below which the negative risk is pushed up"),
        Param("gamma", 1.0, float, 0.0, 1e3, help="nn: step size γ of that correction"),
    )

    def objective(self, batch, loss_normal, loss_anomaly):
        lab = labeled_mask(batch)
        alpha = batch.alpha.reshape(-1)
        positive = masked_mean(loss_anomaly, lab)
        negative = masked_mean(loss_normal, ~lab) - alpha * masked_mean(loss_normal, lab)
        rule = self.hp["correction"]
        if rule == "abs":
            loss = alpha * positive + negative.abs()
        elif rule == "nn":
            loss = torch.where(negative.detach() >= -self.hp["beta"], alpha * positive + negative,
                               -self.hp["gamma"] * negative)
        else:
            loss = alpha * positive + negative
        wn = torch.where(lab, -batch.alpha, 1.0)
        return loss, (wn, lab * batch.alpha, lab)
