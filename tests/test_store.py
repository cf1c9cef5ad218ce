"""The run store (SQLite, WAL) and sweep specs: keys, filters, exports, several writers at once."""
import io
import json
import multiprocessing as mp
import sqlite3

import numpy as np
import pandas as pd
import pytest

from adcore.store import ResultStore, cell_key, parse_where
from adcore.sweep_spec import expand, load_spec

SPEC = {"data": ["toy", "sklearn:wine"], "backbone": ["deepsvdd"], "strategies": ["blind", "loe_hard"],
        "alpha0": [0.05, 0.1], "seeds": [0, 1], "epochs": 3}


def fake_rows(config: dict, auroc: float = 0.5) -> list[dict]:
    return [{"strategy": s, "seed": seed, "alpha": config["alpha0"], "auroc": auroc + seed / 100, "ap": 0.4,
             "f1": 0.3, "fit_seconds": 0.1, "device": "cpu", "protocol": "split"}
            for s in config["strategies"] for seed in config["seeds"]]


def test_cell_written_once_with_one_row_per_member(tmp_path):
    store = ResultStore(tmp_path / "runs.sqlite")
    cell = expand(SPEC)[0]
    cfg = cell.config.to_dict()
    assert store.add_cell(cell.key, cfg, fake_rows(cfg), seconds=1.0)
    assert not store.add_cell(cell.key, cfg, fake_rows(cfg, auroc=0.9))  # already stored: nothing changes
    rows = store.rows()
    assert len(rows) == 4 and {r["auroc"] for r in rows} == {0.5, 0.51}
    assert store.done_keys() == {cell.key} and cell.key in store
    r = rows[0]
    assert (r["data"], r["backbone"], r["alpha0"], r["protocol"], r["n_labeled"]) == ("toy", "deepsvdd", 0.05,
                                                                                       "split", 0)
    assert json.loads(r["config"]) == cfg  # the whole configuration, so fields added later are kept


def test_scores_kept_when_given(tmp_path):
    store = ResultStore(tmp_path / "runs.sqlite")
    cfg = expand(SPEC)[0].config.to_dict()
    rows = fake_rows(cfg)
    rows[0].update(scores=np.array([0.1, 0.9]), labels=np.array([0, 1]))
    store.add_cell("k", cfg, rows)
    scores, labels = store.scores("k", rows[0]["strategy"], rows[0]["seed"])
    np.testing.assert_allclose(scores, [0.1, 0.9], rtol=1e-6)
    assert labels.tolist() == [0, 1]
    assert store.scores("k", rows[1]["strategy"], rows[1]["seed"]) is None


def test_where_filters_and_exports(tmp_path):
    store = ResultStore(tmp_path / "runs.sqlite")
    for i, cell in enumerate(expand(SPEC)):
        cfg = cell.config.to_dict()
        store.add_cell(cell.key, cfg, fake_rows(cfg, auroc=0.6 + i / 10))
    assert len(store.rows()) == 16
    assert {r["data"] for r in store.rows(parse_where(["data=sklearn:wine"]))} == {"sklearn:wine"}
    assert len(store.rows(parse_where(["auroc>=0.8", "seed=1"]))) == 4  # cells 2 and 3, seed 1, 2 strategies
    with pytest.raises(ValueError, match="cannot filter on 'config'"):
        store.rows({"config": "x"})
    with pytest.raises(ValueError, match="expected a number"):
        parse_where(["alpha0=high"])
    csv = pd.read_csv(store.export(tmp_path / "runs.csv"))
    parquet = pd.read_parquet(store.export(tmp_path / "runs.parquet", parse_where(["strategy=blind"])))
    assert len(csv) == 16 and len(parquet) == 8 and set(parquet["strategy"]) == {"blind"}
    with pytest.raises(ValueError, match=".csv or .parquet"):
        store.export(tmp_path / "runs.xlsx")


def test_not_a_store_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_text("not a database " * 100)
    with pytest.raises(ValueError, match="not a run store"):
        ResultStore(bad)


def _write_cells(path, start, count):
    store = ResultStore(path)
    for i in range(start, start + count):
        cfg = {"data": f"set{i}", "alpha0": 0.1, "backbone": "b", "strategies": ["blind", "loe_hard"],
               "seeds": [0, 1, 2]}
        store.add_cell(cell_key(cfg), cfg, fake_rows(cfg))


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "runs.sqlite"
    ResultStore(path)
    # four processes, overlapping ranges: every cell is written by two of them at about the same time
    ranges = [(0, 40), (20, 40), (40, 40), (60, 40)]
    procs = [mp.get_context("fork").Process(target=_write_cells, args=(path, s, n)) for s, n in ranges]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    store = ResultStore(path)
    assert len(store.done_keys()) == 100
    rows = store.rows()
    assert len(rows) == 100 * 6
    assert len({(r["cell"], r["strategy"], r["seed"]) for r in rows}) == len(rows)
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_spec_expands_as_a_product_with_stable_keys(tmp_path):
    cells = expand(SPEC)
    assert [(c.config.data, c.config.alpha0) for c in cells] == [
        ("toy", 0.05), ("toy", 0.1), ("sklearn:wine", 0.05), ("sklearn:wine", 0.1)]
    assert sum(c.n_members for c in cells) == 16
    assert cells[0].config.backbone == "deepsvdd" and cells[0].config.epochs == 3
    assert cells[0].config.batch_size == 25  # the toy defaults (LOE App. A) fill what the spec leaves out
    assert [c.key for c in expand(SPEC)] == [c.key for c in cells]
    assert expand({**SPEC, "epochs": 4})[0].key != cells[0].key
    assert len({c.key for c in cells}) == 4


def test_a_field_added_later_keeps_the_keys_of_stored_cells(monkeypatch):
    from adcore import store

    cfg = expand(SPEC)[0].config.to_dict()
    before = cell_key(cfg)
    assert cell_key({**cfg, "epochs": 4}) != before
    # a new ExperimentConfig field with a default that keeps the old behaviour: same key as before
    defaults = {**store._config_defaults(), "new_option": None}
    monkeypatch.setattr(store, "_config_defaults", lambda: defaults)
    assert cell_key({**cfg, "new_option": None}) == before
    assert cell_key({**cfg, "new_option": 3}) != before


def test_spec_files_folders_and_errors(tmp_path):
    folder = tmp_path / "sets"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("b.npz", "a.npz"):
        np.savez(folder / name, X=rng.normal(size=(40, 3)), y=(np.arange(40) < 8).astype(int))
    (folder / "readme.txt").write_text("not data")
    (tmp_path / "spec.yaml").write_text(f"data: [{folder}]\nstrategies: blind\nseeds: 2\nalpha0: [0.1]\n")
    cells = expand(load_spec(tmp_path / "spec.yaml"))
    assert [c.config.data for c in cells] == [str(folder / "a.npz"), str(folder / "b.npz")]
    assert cells[0].config.seeds == [0, 1] and cells[0].fingerprint
    before = cells[0].key
    np.savez(folder / "a.npz", X=rng.normal(size=(40, 3)), y=(np.arange(40) < 8).astype(int))
    assert expand(load_spec(tmp_path / "spec.yaml"))[0].key != before  # changed file → new cell
    with pytest.raises(ValueError, match="unknown sweep fields"):
        expand({"datasets": ["toy"]})
    with pytest.raises(ValueError, match=r"cell \{.*'epochs': 0\}: epochs"):  # names the cell and the field
        expand({**SPEC, "epochs": [0, 5]})
    with pytest.raises(ValueError, match="empty list"):
        expand({**SPEC, "alpha0": []})
    (tmp_path / "bad.json").write_text("{data: toy")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_spec(tmp_path / "bad.json")


def test_cli_sweep_and_matrix_reuse_the_store_and_runs_lists_it(tmp_path, monkeypatch, capsys):
    from adcore import engines
    from adcore.cli import main

    store = str(tmp_path / "runs.sqlite")
    args = ["--data", "sklearn:wine", "--epochs", "2", "--strategy", "blind,loe_hard", "--store", store]
    assert main(["sweep", *args, "--alpha0s", "0.05,0.1"]) == 0
    first = capsys.readouterr().out

    def no_training(*a, **k):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(engines, "run_cell", no_training)
    assert main(["sweep", *args, "--alpha0s", "0.05,0.1"]) == 0
    assert capsys.readouterr().out == first  # the same table, read from the store
    monkeypatch.undo()
    assert main(["matrix", *args, "--alpha0s", "0.1", "--alphas", "0.05,0.1"]) == 0
    capsys.readouterr()
    assert main(["runs", "--store", store, "--csv", "--where", "alpha0=0.1"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    # α0 = 0.1: the sweep's cell (α = the split's effective α0) and the matrix's α = 0.05 and α = 0.1 cells,
    # each 2 strategies × 1 seed
    assert len(table) == 6 and table["cell"].nunique() == 3 and {0.05, 0.1} < set(table["alpha"])
    assert main(["runs", "--store", store, "--where", "colour=red"]) == 2
    assert "cannot filter on 'colour'" in capsys.readouterr().err
