"""Semi-supervised LOE: latent labels on the unlabelled pool plus labelled anomalies (Li et al. 2023)."""
import torch

from adcore.registry import STRATEGIES, Param
from adcore.strategies.base import Strategy, flag_counts, labeled_mask, masked_mean, top_n_mask


@STRATEGIES.register
class SOEL(Strategy):
    """LOE on the unlabelled samples and the anomaly loss on the labelled ones.

    The objective of SOEL (Li et al. 2023, the PU paper's semi-supervised LOE
    baseline, Sec. 5.2): mean over the unlabelled samples of LOE Eq. 1 with
    latent labels from the top ⌊α·B_U⌋ of S_train = L_n − L_a among them (hard,
    Eq. 2-4, or soft, Eq. 5), plus η · mean_A L_a over the labelled anomalies.
    During the warm-up the unlabelled samples all count as normal. Without
    labelled anomalies this is LOE exactly. SOEL's query strategy (which samples
    to label under a budget) is not part of it: labels come from the data.
    """

    name = "soel"
    description = "SOEL: LOE on the unlabelled data plus the labelled anomalies on the anomaly loss."
    paper = "Li et al. 2023 (SOEL); PU paper Sec. 5.2; LOE Eq. 1-5"
    uses_labels = True
    params = (
        Param("mode", "hard", str, choices=("hard", "soft"), help="latent labels of LOE: hard (y = 1) or soft (0.5)"),
        Param("eta", 1.0, float, 0.0, 1e4, help="weight of the labelled-anomaly term"),
    )

    def objective(self, batch, loss_normal, loss_anomaly):
        lab = labeled_mask(batch)
        unl = ~lab
        if batch.warm:
            flag = torch.zeros_like(lab)
        else:
            counts = flag_counts(batch.alpha, unl.sum(dim=1, keepdim=True))
            flag = top_n_mask(batch.s_train.masked_fill(lab, float("-inf")), counts, batch.most_flags())
        w_n, w_a = (0.0, 1.0) if self.hp["mode"] == "hard" else (0.5, 0.5)
        wn = torch.where(flag, w_n, 1.0) * unl
        wa = torch.where(flag, w_a, 0.0) * unl
        eta = self.hp["eta"]
        loss = masked_mean(wn * loss_normal + wa * loss_anomaly, unl) + eta * masked_mean(loss_anomaly, lab)
        return loss, (wn, wa + eta * lab, flag | lab)
