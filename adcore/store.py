"""The run store: one row per finished member, kept in one SQLite file (WAL mode).

A *cell* is one stacked fit: a configuration (data, protocol, α0, backbone, …) whose
members (strategies × seeds) train together. Its key is a hash of the canonical
configuration JSON (plus a fingerprint of the data bytes where the data has no
stable name), so a sweep that finds the key stored skips the cell. A cell and all
its member rows are written in one transaction: a killed writer leaves a cell
either complete or absent, and several processes may write the same file at once.

Standard library only (``sqlite3``); pandas is imported for the table exports.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import time
import warnings
from pathlib import Path

import numpy as np

ENV_VAR = "ADLAB_STORE"
DEFAULT_PATH = Path("~/.adlab/runs.sqlite")
VERSION = "0.1.0"  # library version recorded with every row
KEY_SALT = "adlab-cell/1|"  # part of every cell key; bump it when a default of ExperimentConfig changes

# Columns of a member row, in table order (id and the scores blob are extra).
COLUMNS = ("cell", "data", "protocol", "alpha0", "alpha", "n_labeled", "backbone", "strategy", "params", "seed",
           "auroc", "ap", "f1", "fit_seconds", "epochs_trained", "device", "config", "version", "created")
FILTERABLE = {c for c in COLUMNS if c not in ("config", "params")}
_INTEGER = {"seed", "n_labeled", "epochs_trained"}
_REAL = {"alpha0", "alpha", "auroc", "ap", "f1", "fit_seconds", "created"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY, config TEXT NOT NULL, seconds REAL, device TEXT, version TEXT, created REAL);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    cell TEXT NOT NULL REFERENCES cells(key), data TEXT, protocol TEXT, alpha0 REAL, alpha REAL,
    n_labeled INTEGER, backbone TEXT, strategy TEXT, params TEXT, seed INTEGER,
    auroc REAL, ap REAL, f1 REAL, fit_seconds REAL, epochs_trained INTEGER, device TEXT,
    config TEXT, version TEXT, created REAL, scores BLOB, labels BLOB,
    UNIQUE (cell, strategy, params, seed));
CREATE INDEX IF NOT EXISTS results_data ON results (data, backbone, strategy);
"""


def default_path() -> Path:
    """``$ADLAB_STORE`` if set, else ``~/.adlab/runs.sqlite``."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH).expanduser()


def canonical_json(config: dict) -> str:
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)


@functools.lru_cache(maxsize=1)
def _config_defaults() -> dict:
    from adcore.experiment import ExperimentConfig

    return ExperimentConfig().to_dict()


def cell_key(config: dict, data_fingerprint: str = "") -> str:
    """A stable key of one cell: its canonical configuration JSON and the data's fingerprint.

    Fields at their default value are left out of the key, so that a field added to
    ``ExperimentConfig`` later (with a default that keeps the old behaviour) does not change the
    keys of cells already stored. Changing the default of an existing field must bump ``KEY_SALT``.
    """
    defaults = _config_defaults()
    keyed = {k: v for k, v in config.items() if k not in defaults or v != defaults[k]}
    return hashlib.sha256((KEY_SALT + canonical_json(keyed) + "|" + data_fingerprint).encode()).hexdigest()[:24]


def file_fingerprint(path: str | os.PathLike) -> str:
    """The fingerprint of a data file's bytes (a changed file gets new cells)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class ResultStore:
    """Member results in an SQLite file; safe for several writers (WAL, busy timeout, one transaction per cell)."""

    def __init__(self, path: str | os.PathLike | None = None, timeout: float = 60.0):
        self.path = Path(path).expanduser() if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout = timeout
        try:
            with self._connect() as con:
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(_SCHEMA)
        except sqlite3.DatabaseError as err:
            raise ValueError(f"{self.path} is not a run store (SQLite): {err}") from None

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout)
        con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        return con

    def done_keys(self, keys=None) -> set[str]:
        """The cell keys already stored (of ``keys`` if given)."""
        with self._connect() as con:
            stored = {k for (k,) in con.execute("SELECT key FROM cells")}
        return stored if keys is None else stored & set(keys)

    def __contains__(self, key: str) -> bool:
        with self._connect() as con:
            return con.execute("SELECT 1 FROM cells WHERE key = ?", (key,)).fetchone() is not None

    def add_cell(self, key: str, config: dict, rows: list[dict], seconds: float | None = None) -> bool:
        """Write a finished cell and its member rows atomically; False if the cell was already stored.

        Each row has ``strategy``, ``seed`` and metrics (``auroc``, ``ap``, ``f1``, ``fit_seconds``, …);
        ``scores``/``labels`` (arrays) are kept when present. The configuration fields come from ``config``.
        """
        now, text = time.time(), canonical_json(config)
        device = rows[0].get("device") if rows else None
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            cur = con.execute("INSERT OR IGNORE INTO cells (key, config, seconds, device, version, created) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (key, text, seconds, device, VERSION, now))
            if cur.rowcount == 0:
                con.rollback()
                return False
            con.executemany(
                f"INSERT OR IGNORE INTO results ({', '.join(COLUMNS)}, scores, labels) "
                f"VALUES ({', '.join('?' * (len(COLUMNS) + 2))})",
                [self._row(key, config, text, r, now) for r in rows])
            con.commit()
            return True
        finally:
            con.close()

    @staticmethod
    def _row(key: str, config: dict, text: str, r: dict, now: float) -> tuple:
        params = canonical_json(config.get("strategy_params", {}).get(r["strategy"], {}))
        blob = lambda a, t: None if a is None else np.asarray(a, dtype=t).tobytes()  # noqa: E731
        values = {"cell": key, "data": config.get("data"), "protocol": r.get("protocol", config.get("protocol")),
                  "alpha0": config.get("alpha0"), "alpha": r.get("alpha", config.get("alpha")),
                  "n_labeled": config.get("n_labeled"), "backbone": config.get("backbone"),
                  "strategy": r["strategy"], "params": params, "seed": int(r["seed"]),
                  "auroc": r.get("auroc"), "ap": r.get("ap"), "f1": r.get("f1"),
                  "fit_seconds": r.get("fit_seconds"), "epochs_trained": r.get("epochs_trained"),
                  "device": r.get("device"), "config": text, "version": VERSION, "created": now}
        return (*(values[c] for c in COLUMNS), blob(r.get("scores"), np.float32), blob(r.get("labels"), np.int8))

    def rows(self, where: dict | None = None, cells=None) -> list[dict]:
        """Member rows as dicts (without scores), optionally filtered.

        ``where`` maps a column to a value or to ``(op, value)`` with op in = != < <= > >=;
        ``cells`` restricts to these cell keys.
        """
        sql, args = f"SELECT {', '.join(COLUMNS)} FROM results", []
        clauses = []
        for col, cond in (where or {}).items():
            if col not in FILTERABLE:
                raise ValueError(f"cannot filter on {col!r}; columns: {', '.join(sorted(FILTERABLE))}")
            op, value = cond if isinstance(cond, tuple) else ("=", cond)
            if op not in ("=", "!=", "<", "<=", ">", ">="):
                raise ValueError(f"unknown comparison {op!r}")
            clauses.append(f"{col} IS NULL" if value is None and op == "=" else f"{col} {op} ?")
            args += [] if value is None and op == "=" else [value]
        if cells is not None:
            cells = list(cells)
            if not cells:
                return []
            clauses.append(f"cell IN ({', '.join('?' * len(cells))})")
            args += cells
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        with self._connect() as con:
            out = [dict(zip(COLUMNS, row)) for row in con.execute(sql + " ORDER BY id", args)]
        return out

    def cell_configs(self) -> dict[str, dict]:
        """Every stored cell's configuration, by cell key (in the order they were stored)."""
        with self._connect() as con:
            return {k: json.loads(c) for k, c in con.execute("SELECT key, config FROM cells ORDER BY created")}

    def scores(self, cell: str, strategy: str, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(scores, labels) stored for one member, or None."""
        with self._connect() as con:
            row = con.execute("SELECT scores, labels FROM results WHERE cell = ? AND strategy = ? AND seed = ?",
                              (cell, strategy, int(seed))).fetchone()
        if row is None or row[0] is None:
            return None
        labels = None if row[1] is None else np.frombuffer(row[1], dtype=np.int8)
        return np.frombuffer(row[0], dtype=np.float32), labels

    def frame(self, where: dict | None = None, cells=None):
        """The rows as a pandas DataFrame (one row per member result; ``created`` as a UTC time)."""
        import pandas as pd

        df = pd.DataFrame(self.rows(where, cells), columns=list(COLUMNS))
        df["created"] = pd.to_datetime(df["created"], unit="s", utc=True)
        return df

    def export(self, path: str | os.PathLike, where: dict | None = None) -> Path:
        """Write the rows to ``.csv`` or ``.parquet`` (by the file's suffix)."""
        path, df = Path(path), self.frame(where)
        if path.suffix == ".parquet":
            df.to_parquet(path, index=False)
        elif path.suffix == ".csv":
            df.to_csv(path, index=False)
        else:
            raise ValueError(f"export to .csv or .parquet, not {path.suffix or 'a file without suffix'!r}")
        return path


def result_rows(result, keep_scores: bool = False) -> list[dict]:
    """One row per member of an :class:`~adcore.experiment.ExperimentResult`, as :meth:`ResultStore.add_cell`
    takes them (with the resolved protocol and the device; test scores and labels if ``keep_scores``)."""
    device = str(result.train_results[0][0].device)
    index = {(m.strategy, m.seed): k for k, m in enumerate(result.members)}
    rows = []
    for run in result.runs:
        row = {**run, "protocol": result.config.protocol, "device": device}
        if keep_scores:
            k = index[run["strategy"], run["seed"]]
            row["scores"], row["labels"] = result.test_scores[k], result.split_of(k).test.y
        rows.append(row)
    return rows


_SHARED: dict = {}


def shared_store() -> ResultStore | None:
    """The store at :func:`default_path` (opened once per path); None, with a warning, if it cannot be opened."""
    path = default_path()
    if path not in _SHARED:
        try:
            _SHARED[path] = ResultStore(path)
        except (OSError, ValueError, sqlite3.Error) as err:
            warnings.warn(f"the run store {path} is not available, results are kept in memory only: {err}")
            _SHARED[path] = None
    return _SHARED[path]


def save_result(config: dict, result, data_fingerprint: str = "", store: ResultStore | None = None) -> str | None:
    """Write a finished run of ``config`` to ``store`` (default :func:`shared_store`) → its cell key.

    Never raises: a store that cannot be written (read-only, locked past the timeout) only warns.
    """
    store = store or shared_store()
    if store is None:
        return None
    key = cell_key(config, data_fingerprint)
    try:
        store.add_cell(key, config, result_rows(result), result.seconds)
    except (OSError, sqlite3.Error) as err:
        warnings.warn(f"could not write the run to {store.path}: {err}")
        return None
    return key


def stored_runs(config: dict, data_fingerprint: str = "", store: ResultStore | None = None) -> list[dict] | None:
    """The member rows of ``config`` from the store, or None if it holds no such cell (or cannot be read)."""
    store = store or shared_store()
    if store is None:
        return None
    try:
        rows = store.rows(cells=[cell_key(config, data_fingerprint)])
    except sqlite3.Error:
        return None
    return rows or None


def parse_where(items) -> dict:
    """``["data=toy", "auroc>=0.9"]`` → ``{"data": ("=", "toy"), "auroc": (">=", 0.9)}`` (numbers parsed)."""
    out = {}
    for item in items or ():
        for op in ("<=", ">=", "!=", "=", "<", ">"):
            if op in item:
                col, value = (s.strip() for s in item.split(op, 1))
                break
        else:
            raise ValueError(f"--where takes COLUMN=VALUE (or != < <= > >=); got {item!r}")
        if col not in FILTERABLE:
            raise ValueError(f"cannot filter on {col!r}; columns: {', '.join(sorted(FILTERABLE))}")
        try:
            value = int(value) if col in _INTEGER else float(value) if col in _REAL else value
        except ValueError:
            raise ValueError(f"--where {col}: expected a number, got {value!r}") from None
        out[col] = (op, value)
    return out
