"""Ensemble + IAD (IAD Sec. V-B5, Table V): sub-datasets, median-scaled aggregation, shared weights and h."""
import numpy as np
import torch

from adcore.registry import STRATEGIES
from adcore.strategies.base import Batch
from adcore.strategies.iad import ranks, termination_value, weight_update
from adcore.strategies.iad_ensemble import IADEnsemble, ensemble_score
from adcore.trainer import Member, TrainConfig, train


def _toy(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.zeros(n, int)
    y[: n // 10] = 1
    X[: n // 10] += 4.0
    return X, y


def test_ensemble_score_scales_each_model_to_median_one_then_averages():
    s = torch.tensor([[1.0, 2.0, 3.0], [10.0, 40.0, 20.0]])
    # medians 2 and 20 → [0.5, 1, 1.5] and [0.5, 2, 1]
    assert torch.allclose(ensemble_score(s), torch.tensor([0.5, 1.5, 1.25]))
    assert torch.allclose(ensemble_score(3.0 * s), ensemble_score(s))  # a model's scale does not matter


def test_members_train_on_their_own_sub_dataset():
    strat = IADEnsemble(6, 100, **STRATEGIES.resolve_params("iad_ensemble", {"ensemble_size": 3}))
    idx = torch.arange(100).expand(6, 100)
    w_n, w_a, _ = strat.weights(Batch(torch.zeros(6, 100), torch.zeros(6, 100), torch.zeros(6, 100),
                                      torch.zeros(6, 1), idx, epoch=0))
    assert torch.all(w_a == 0)
    assert ((w_n > 0).sum(1) == 80).all()  # 80 % of the samples each
    assert torch.allclose(w_n.sum(1), torch.full((6,), 100.0))  # kept samples weigh N / n_keep: a mean over them
    assert len({tuple(torch.nonzero(r).flatten().tolist()) for r in w_n}) == 6  # every member its own subset


def test_ensemble_members_share_weights_and_h_from_the_aggregated_score():
    X, y = _toy()
    E, size = 2, 3
    members = [Member("iad_ensemble", 0.1, s, (("ensemble_size", size), ("epochs_per_round", E))) for s in range(6)]
    res = train("ae", members, X, y_train=y, config=TrainConfig(epochs=3 * E, batch_size=64))
    ex = res.history.extra
    for group in (range(0, 3), range(3, 6)):
        first = group[0]
        for k in group:  # one ensemble: the same scores, h, weights and selected round
            assert np.allclose(ex["iad_scores"][k], ex["iad_scores"][first])
            assert np.allclose(ex["iad_weights"][k], ex["iad_weights"][first])
            assert ex["iad_selected_round"][k] == ex["iad_selected_round"][first]
        scores = ex["iad_scores"][first]
        # the next weights are Eq. 12-14 of the ensemble score, h is Eq. 15-16 of its ranks
        assert np.allclose(ex["iad_weights"][first][1:], weight_update(torch.as_tensor(scores[:-1]))[0].numpy(),
                           atol=1e-6)
        r = ranks(torch.as_tensor(scores))
        assert [int(termination_value(r[t:t + 1], r[t - 1:t])[0]) for t in (1, 2)] == ex["iad_h"][first][1:].tolist()
    assert not np.allclose(ex["iad_scores"][0], ex["iad_scores"][3])  # the two ensembles differ
    # the selected ensemble's final members score like that round's ensemble score
    sel = ex["iad_selected_round"][0]
    final = ensemble_score(torch.as_tensor(res.score(X)[:3]))
    assert torch.allclose(final, torch.as_tensor(ex["iad_scores"][0][sel]).float(), atol=1e-3)


def test_plain_ensemble_keeps_unit_weights_and_its_last_round():
    X, y = _toy()
    members = [Member("iad_ensemble", 0.1, s, (("ensemble_size", 2), ("epochs_per_round", 2), ("reweight", False)))
               for s in range(2)]
    res = train("ae", members, X, y_train=y, config=TrainConfig(epochs=6, batch_size=64))
    ex = res.history.extra
    assert np.all(np.asarray(ex["iad_weights"][0]) == 1.0)
    final = ensemble_score(torch.as_tensor(res.score(X)))
    assert torch.allclose(final, torch.as_tensor(ex["iad_scores"][0][-1]).float(), atol=1e-3)


def test_experiment_ensembles_are_a_seeds_models_and_score_the_median_scaled_mean():
    import pytest
    from adcore.experiment import ExperimentConfig, run_experiment
    from adcore.metrics import evaluate
    cfg = ExperimentConfig(data="sklearn:wine", backbone="ae", strategies=["iad_ensemble"], seeds=[0, 1], ensemble=2,
                           strategy_params={"iad_ensemble": {"ensemble_size": 2, "epochs_per_round": 1}}, epochs=3,
                           alpha0=0.1)
    res = run_experiment(cfg)
    rows = [r for r in res.runs if r["strategy"] == "iad_ensemble ×2"]
    assert len(rows) == 2
    for row, seed in zip(rows, (0, 1)):
        ks = [k for k in range(len(res.members)) if res.runs[k].get("split_seed") == seed]
        expect = evaluate(res.split_of(ks[0]).test.y, ensemble_score(torch.as_tensor(np.stack(
            [res.test_scores[k] for k in ks]))).numpy())["auroc"]
        assert row["auroc"] == pytest.approx(expect)
    with pytest.raises(ValueError, match="ensembles of 5 models on one split"):
        ExperimentConfig(data="sklearn:wine", backbone="ae", strategies=["iad_ensemble"]).validate()
