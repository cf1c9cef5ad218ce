"""Semi-supervised training on labelled anomalies: Deep SAD and ABC (PU paper Sec. 2.3, Eq. 5 and 15)."""
from adcore.registry import STRATEGIES, Param
from adcore.strategies.base import Strategy, labeled_mask, masked_mean


@STRATEGIES.register
class SAD(Strategy):
    """Unlabelled samples train L_n, labelled anomalies train L_a with weight η.

    ``reduction = "joint"`` is Deep SAD's objective (Ruff et al. 2019 Eq. 6;
    PU paper Eq. 15 per sample): one mean over the batch,
    (1/(n+m)) [Σ_U L_n + η Σ_A L_a]. ``"separate"`` is ABC's (PU paper Eq. 5):
    mean_U L_n + η · mean_A L_a. Every unlabelled sample is taken as normal, so
    contamination of the pool is not handled (that is what ``pu`` and ``soel``
    add). With ``deepsvdd`` (L_a = 1/‖f(x) − c‖²) this is Deep SAD, with ``ae``
    (L_a = −log(1 − exp(−ℓ))) ABC, with ``hsc``/``bce``/``focal`` the
    (un)supervised outlier exposure of EOE Sec. 3.2 and 4, with ``vae`` (L_a = exp 2·CUBO)
    the MML-VAE and with ``dpvae`` the DP-VAE (DP-VAE Sec. 4.1-4.2, η = γ).
    """

    name = "sad"
    description = "SAD: unlabelled data as normal, labelled anomalies on the anomaly loss (Deep SAD, ABC, OE)."
    paper = "Ruff et al. 2019 Eq. 6; PU paper Eq. 5, 15; EOE Sec. 3.2"
    uses_alpha = False
    uses_labels = True
    params = (
        Param("eta", 1.0, float, 0.0, 1e4, help="η, the weight of the labelled anomalies (Deep SAD Eq. 6; 1 in ABC)"),
        Param("reduction", "joint", str, choices=("joint", "separate"),
              help="joint: one mean over the batch (Deep SAD); separate: mean over unlabelled + η·mean over "
                   "labelled (ABC, PU Eq. 5)"),
        Param("start_epoch", 0, int, 0, 100000,
              help="labelled anomalies join from this epoch on; before, train on the unlabelled data only "
                   "(DP-VAE App. D: a 50-epoch warm-up on normal data)"),
        Param("every", 1, int, 1, 1000, help="use the labelled anomalies every n-th epoch from start_epoch on "
                                             "(DP-VAE App. D.2's 'ND update interval')"),
    )

    def objective(self, batch, loss_normal, loss_anomaly):
        lab = labeled_mask(batch)
        eta = self.hp["eta"]
        start = self.hp["start_epoch"]
        if batch.epoch < start or (batch.epoch - start) % self.hp["every"]:
            return masked_mean(loss_normal, ~lab), ((~lab).float(), 0.0 * lab.float(), lab)
        if self.hp["reduction"] == "joint":
            loss = (loss_normal * ~lab + eta * loss_anomaly * lab).mean(dim=1)
        else:
            loss = masked_mean(loss_normal, ~lab) + eta * masked_mean(loss_anomaly, lab)
        return loss, ((~lab).float(), eta * lab.float(), lab)
