"""The same 48-cell sweep on the local process pool and on an embedded Ray, each with 2 workers.

4 data sets × 3 α0 × 2 backbones × 2 learning rates = 48 cells; each cell trains
3 strategies × 2 seeds stacked (288 member results). Prints per engine the wall time,
the training seconds summed over cells (what the workers spent inside run_experiment),
and the overhead per cell: (wall × workers − Σ cell seconds) / cells, i.e. the worker
time not spent training (process/Ray start-up, imports, data transfer, store writes).
Then the finished sweep is run again through the CLI (nothing to train). ``--alone`` instead
times 6 cells one at a time in one pool worker and one Ray worker, alternating (wall/CPU s per cell).

    OMP_NUM_THREADS=1 .venv/bin/python bench/sweep_engines.py [--workers 2] [--epochs 20] [--engines local,ray] [--alone]
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adcore.engines import run_sweep  # noqa: E402
from adcore.store import ResultStore  # noqa: E402
from adcore.sweep_spec import expand  # noqa: E402


def spec(epochs: int) -> dict:
    return {"data": ["toy", "sklearn:wine", "sklearn:breast_cancer", "sklearn:digits"], "alpha0": [0.05, 0.1, 0.15],
            "backbone": ["deepsvdd", "ae"], "lr": [1e-3, 3e-3], "strategies": ["blind", "loe_hard", "loe_soft"],
            "seeds": [0, 1], "epochs": epochs, "batch_size": 64}


def measure(engine: str, workers: int, cells, folder: Path) -> dict:
    store = ResultStore(folder / f"{engine}.sqlite")
    start = time.perf_counter()
    report = run_sweep(cells, store, engine=engine, workers=workers)
    wall = time.perf_counter() - start
    con = sqlite3.connect(store.path)
    trained = con.execute("SELECT SUM(seconds) FROM cells").fetchone()[0]
    rows = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert report.ran == len(cells) and not report.failed, report
    return {"engine": engine, "wall": wall, "trained": trained, "rows": rows,
            "overhead": (wall * workers - trained) / len(cells)}


def timed(config: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of one cell in this worker."""
    from adcore.engines import run_cell

    cpu = time.process_time()
    out = run_cell(config)
    return out["seconds"], time.process_time() - cpu


def alone(rounds: int = 2) -> None:
    import ray
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from adcore.engines import _one_thread

    cfgs = [c.config.to_dict() for c in expand({**spec(20), "data": ["sklearn:breast_cancer"]})][:6]
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1)(timed)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_one_thread) as pool:
        for r in range(rounds):
            for name, times in (("pool", [pool.submit(timed, c).result() for c in cfgs]),
                                ("ray", [ray.get(task.remote(c)) for c in cfgs])):
                print(f"round {r} {name:<5} wall/CPU s: " + "  ".join(f"{w:.2f}/{c:.2f}" for w, c in times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--engines", default="local,ray", help="the order to measure them in")
    ap.add_argument("--alone", action="store_true", help="time single cells in one worker of each engine")
    args = ap.parse_args()
    if args.alone:
        return alone()
    cells = expand(spec(args.epochs))
    print(f"{len(cells)} cells, {sum(c.n_members for c in cells)} member results, {args.epochs} epochs, "
          f"{args.workers} workers, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = [measure(engine, args.workers, cells, folder) for engine in args.engines.split(",")]
        print(f"{'engine':<8}{'wall s':>9}{'Σ cell s':>10}{'overhead s/cell':>17}{'rows':>6}")
        for r in results:
            print(f"{r['engine']:<8}{r['wall']:>9.1f}{r['trained']:>10.1f}{r['overhead']:>17.2f}{r['rows']:>6}")
        spec_file = folder / "spec.json"
        spec_file.write_text(json.dumps(spec(args.epochs)))
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "adcore", "sweep", "--spec", str(spec_file), "--store",
                              str(folder / "ray.sqlite"), "--engine", "ray"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        print(f"finished sweep run again (CLI, --engine ray): {time.perf_counter() - start:.1f} s; "
              f"{out.splitlines()[1]}")
        print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
