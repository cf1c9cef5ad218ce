"""G-truth: the oracle that knows the true labels (LOE Sec. 4.1)."""
from adcore.registry import STRATEGIES
from adcore.strategies.base import Strategy


@STRATEGIES.register
class GroundTruth(Strategy):
    """Minimises LOE Eq. 1 with the true y_i: a reference, only when labels are known."""

    name = "gtruth"
    description = "G-truth: trains with the true labels (an oracle for reference)."
    paper = "LOE Sec. 4.1"
    needs_labels = True
    uses_alpha = False
    flags_from_truth = True
    flag_weights = (0.0, 1.0)
