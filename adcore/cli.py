"""Command line: ``python -m adcore list`` and ``python -m adcore run …`` (JSON out)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from adcore.data import PROTOCOLS, SKLEARN_SETS, DataError
from adcore.data.toy import TOY_TRAINING
from adcore.experiment import ExperimentConfig, run_experiment
from adcore.methods import METHODS, compare_methods
from adcore.presets import DESCRIPTIONS as PRESET_NOTES, preset_fields
from adcore.registry import BACKBONES, STRATEGIES
from adcore.engines import ENGINES, run_sweep as run_cells
from adcore.store import ENV_VAR, ResultStore, parse_where
from adcore.sweep_spec import expand, load_spec
from adcore.sweeps import contamination_sweep, mean_table, sensitivity_matrix
from adcore.validation import ConfigError, error_text

TOY_DEFAULTS = TOY_TRAINING
DEFAULTS = {"epochs": 50, "batch_size": 128, "lr": 1e-3}


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _numbers(text: str, flag: str, kind=float) -> list:
    """Comma-separated numbers of ``flag``, with a message naming the flag."""
    try:
        return [kind(t) for t in _csv(text)]
    except ValueError:
        what = "whole numbers" if kind is int else "numbers"
        raise ValueError(f"{flag} takes {what} separated by commas, e.g. {'0,1,2' if kind is int else '0.05,0.1'}; "
                         f"got {text!r}") from None


def _thread_count(text: str):
    if text == "auto":
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--threads takes 'auto' or a whole number from 1 up; got {text!r}")
    return int(text)


def read_config_file(path: str) -> dict:
    """The settings of a ``--config`` JSON file (its ``config`` object, or the whole object)."""
    try:
        with open(path, encoding="utf-8") as fh:
            loaded = json.load(fh)
    except OSError as err:
        raise ValueError(f"--config: cannot read {path}: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"--config: {path} is not valid JSON ({err})") from None
    base = loaded.get("config", loaded) if isinstance(loaded, dict) else loaded
    if not isinstance(base, dict):
        raise ValueError(f"--config: {path} must hold a JSON object of settings (or one with a 'config' object); "
                         f"got a {type(base).__name__}")
    return base


def check_out(path: str | None) -> None:
    """Refuse an ``--out`` path that cannot be written, before any training."""
    if not path:
        return
    out = Path(path)
    if out.is_dir():
        raise ValueError(f"--out: {path} is a folder; give a file name, e.g. {out / 'result.json'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"--out: the folder {parent} does not exist; create it first or choose another path")
    if not os.access(parent, os.W_OK) or out.exists() and not os.access(out, os.W_OK):
        raise ValueError(f"--out: {path} cannot be written (no permission)")


def flag_message(err: ConfigError, args) -> str:
    """A configuration error naming the command-line flag that set the value, if one did."""
    flag = "--" + err.field.replace("_", "-")
    if getattr(args, err.field, None) is not None:
        return f"{flag}: {err.detail}"
    return f"{err.field} (in the configuration): {err.detail}"


def _value(text: str):
    """A ``--param`` value: JSON when it parses (numbers, lists, true/false), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adcore", description="AD Lab: anomaly detection on "
                                     "contaminated training data (LOE, IAD and friends).")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list backbones, strategies, datasets and protocols")
    run = sub.add_parser("run", help="train and evaluate; prints a table and writes JSON")
    run.add_argument("--config", help="a JSON file written by an earlier run (its 'config'); flags override it")
    run.add_argument("--preset", help="a paper's setting for a table row, e.g. loe-table6-ntl, iad-table2-ae-thyroid "
                                      "(see 'list'); --config and flags override its fields")
    run.add_argument("--data", help="toy | sklearn:wine|breast_cancer|digits[:normal_class] | path to .npz/.csv/.mat")
    run.add_argument("--label-col", help="CSV: the label column")
    run.add_argument("--anomaly-value", help="CSV: the label value that means anomaly (default 1)")
    run.add_argument("--known-value", help="CSV: a label value that means known (labelled) anomaly")
    run.add_argument("--backbone", help="backbone name (see 'list')")
    run.add_argument("--strategy", help="strategy name, or several separated by commas")
    run.add_argument("--protocol", choices=PROTOCOLS, help="split | loe | transductive | fresh (toy)")
    run.add_argument("--alpha0", type=float, help="true training contamination the split creates (default 0.1)")
    run.add_argument("--alpha", type=float, help="contamination the strategy assumes (default: α0)")
    run.add_argument("--shortage", choices=("error", "reduce_normals", "lower_alpha0"),
                     help="split protocol, when anomalies run short")
    run.add_argument("--epochs", type=int)
    run.add_argument("--batch-size", type=int, help="0 for full batch")
    run.add_argument("--lr", type=float)
    run.add_argument("--warmup", type=int, help="warm-up epochs trained blind (default 2)")
    run.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2")
    run.add_argument("--device", help="auto | cpu | cuda | mps")
    run.add_argument("--record-every", type=int, help="the history's per-sample records every n epochs "
                                                       "(default: about 25 records; 1: every epoch)")
    run.add_argument("--threads", type=_thread_count, help="CPU threads: auto (default) or a number")
    run.add_argument("--precision", choices=("float32", "bfloat16"),
                     help="bfloat16: the training steps' matrix products in bfloat16 (faster on recent CPUs/GPUs)")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="backbone parameter")
    run.add_argument("--method", help="a named method (DeepSAD, PUSVDD, HSC, IsolationForest, …; see 'list'), or "
                                      "several separated by commas, run side by side on the same splits")
    run.add_argument("--n-labeled", type=int, help="labelled anomalies in training, on top of the unlabelled pool")
    run.add_argument("--labeled-ratio", type=float, help="or their ratio γ_l = N_labelled / N_train (e.g. 0.01)")
    run.add_argument("--labeled-batch", type=int,
                     help="labelled anomalies added to every batch (balanced batches, EOE App. G); default: mixed in")
    run.add_argument("--oe", help="outlier-exposure set used only as labelled anomalies: a data spec or class:C")
    run.add_argument("--oe-n", type=int, help="how many outlier-exposure samples (default: all; 0 and 1 allowed)")
    run.add_argument("--ensemble", type=int, help="K models per seed, scored as one ensemble (mean score; DP-VAE "
                                                  "Table 6) in a row of its own")
    run.add_argument("--out", help="write the JSON result here")
    sweep = sub.add_parser("sweep", parents=[run], add_help=False,
                           help="contamination sweep (LOE Fig. 2): one run per α0 in --alpha0s, α = α0")
    sweep.add_argument("--alpha0s", default="0.05,0.1,0.15,0.2", help="comma-separated true ratios")
    sweep.add_argument("--spec", help="a JSON/YAML sweep spec (lists expanded as a product); needs --store")
    sweep.add_argument("--store", help="the run store (SQLite file): stored cells are skipped, new ones added")
    sweep.add_argument("--engine", choices=ENGINES, default="local", help="--spec: local process pool or Ray")
    sweep.add_argument("--address", help="--engine ray: join this Ray cluster (default: $RAY_ADDRESS, else "
                       "start a local Ray)")
    sweep.add_argument("--workers", type=int, help="--spec: cells run at once (default: one per CPU)")
    sweep.add_argument("--scores", action="store_true", help="--spec: keep every member's test scores too")
    runs = sub.add_parser("runs", help="the member results of a run store, one row each")
    runs.add_argument("--store", help=f"the run store (default ${ENV_VAR} or ~/.adlab/runs.sqlite)")
    runs.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                      help="filter (also != < <= > >=), e.g. data=toy or auroc>=0.9; repeatable")
    runs.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    runs.add_argument("--out", help="export to a .csv or .parquet file")
    matrix = sub.add_parser("matrix", parents=[run], add_help=False,
                            help="α-vs-α0 sensitivity matrix (LOE Fig. 3)")
    matrix.add_argument("--alpha0s", default="0.05,0.1,0.15,0.2", help="comma-separated true ratios")
    matrix.add_argument("--alphas", default="0.05,0.1,0.15,0.2", help="comma-separated assumed ratios")
    matrix.add_argument("--store", help="the run store (SQLite file): stored runs are reused, new ones added")
    return parser


def config_from_args(args) -> ExperimentConfig:
    base = preset_fields(args.preset) if getattr(args, "preset", None) else {}
    if args.config:
        base.update(read_config_file(args.config))
    if getattr(args, "preset", None) and not (args.data or base.get("data")):
        raise ValueError(f"--preset {args.preset} needs --data (the dataset of the table row)")
    data = args.data or base.get("data", "toy")
    defaults = TOY_DEFAULTS if data == "toy" else DEFAULTS
    cfg = {**{"data": data}, **{k: v for k, v in base.items() if k != "data"}}
    for key in ("epochs", "lr", "alpha0", "alpha", "protocol", "backbone", "shortage", "device", "warmup",
                "n_labeled", "labeled_ratio", "labeled_batch", "oe", "oe_n", "ensemble", "threads", "precision",
                "record_every"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    for key, value in defaults.items():
        cfg.setdefault(key, value)
    if args.batch_size is not None:
        cfg["batch_size"] = args.batch_size or None
    if args.strategy:
        cfg["strategies"] = _csv(args.strategy)
    if args.seeds:
        cfg["seeds"] = _numbers(args.seeds, "--seeds", int)
    options = dict(cfg.get("data_options", {}))
    if args.label_col:
        options["label_col"] = args.label_col
    if args.anomaly_value is not None:
        options["anomaly_value"] = _value(args.anomaly_value)
    if args.known_value is not None:
        options["known_value"] = _value(args.known_value)
    cfg["data_options"] = options
    params = dict(cfg.get("backbone_params", {}))
    for item in args.param:
        if "=" not in item:
            raise ValueError(f"--param takes NAME=VALUE; got {item!r}")
        key, value = item.split("=", 1)
        params[key.strip()] = _value(value)
    cfg["backbone_params"] = params
    cfg.setdefault("backbone", "deepsvdd_rbf" if data == "toy" else "deepsvdd")
    return ExperimentConfig.from_dict(cfg)


def format_table(summary: dict) -> str:
    lines = [f"{'method':<16} {'AUROC':>15} {'AUPRC':>15} {'F1':>15} {'fit s':>8}"]
    for name, row in summary.items():
        cell = lambda key: (f"{row[key]['mean']:.3f} ± {row[key]['std']:.3f}" if key in row else "-")  # noqa: E731
        fit = row.get("fit_seconds", {}).get("mean", float("nan"))
        lines.append(f"{name:<16} {cell('auroc'):>15} {cell('ap'):>15} {cell('f1'):>15} {fit:>8.2f}")
    return "\n".join(lines)


def cmd_list() -> dict:
    return {"methods": [m.describe() for m in METHODS.values()],
            "backbones": BACKBONES.describe(), "strategies": STRATEGIES.describe(),
            "datasets": ["toy", *[f"sklearn:{n}" for n in SKLEARN_SETS], "PATH.npz", "PATH.csv", "PATH.mat"],
            "protocols": list(PROTOCOLS), "presets": dict(PRESET_NOTES)}


def print_methods(results: list, out: str | None) -> int:
    """The table of a ``--method`` run (one row per method) and its JSON."""
    summary = {name: row for r in results for name, row in r.summary.items()}
    print(format_table(summary))
    if out:
        with open(out, "w") as fh:
            json.dump({"methods": [r.to_json() for r in results]}, fh, indent=2)
        print(f"wrote {out}")
    return 0


def cmd_spec_sweep(args) -> int:
    """``sweep --spec``: the cells of the spec missing from the store, on the chosen engine."""
    if not args.store:
        raise ValueError("sweep --spec needs --store PATH (the run store the results go to)")
    cells = expand(load_spec(args.spec))
    store = ResultStore(args.store)
    print(f"{len(cells)} cells × members = {sum(c.n_members for c in cells)} results in the spec", flush=True)
    report = run_cells(cells, store, args.engine, args.workers, args.address, args.scores,
                       progress=lambda line: print(line, flush=True))
    print(f"done in {report.seconds:.1f} s: {report.ran} cells run, {report.skipped} already done"
          + (f", {len(report.failed)} failed" if report.failed else "") + f"; store {store.path}")
    return 1 if report.failed else 0


def cmd_runs(args) -> int:
    store = ResultStore(args.store)
    where = parse_where(args.where)
    if args.out:
        print(f"wrote {store.export(args.out, where)}")
        return 0
    df = store.frame(where)
    print(df.to_csv(index=False) if args.csv else df.drop(columns=["config", "cell"]).to_string(index=False))
    return 0


def run_sweep(args, cfg: ExperimentConfig) -> int:
    alpha0s = _numbers(args.alpha0s, "--alpha0s")
    store = ResultStore(args.store) if args.store else None
    if args.command == "sweep":
        rows = contamination_sweep(cfg, alpha0s, store=store)
        table = mean_table(rows, "alpha0")
    else:
        rows = sensitivity_matrix(cfg, alpha0s, _numbers(args.alphas, "--alphas"), store=store)
        for r in rows:
            r["cell"] = f"α0={r['alpha0']:g} α={r['alpha']:g}"
        table = mean_table(rows, "cell")
    print("mean AUROC")
    for key, row in table.items():
        print(f"  {key if isinstance(key, str) else f'α0={key:g}':<20} " +
              "  ".join(f"{s}={v:.3f}" for s, v in row.items()))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"config": cfg.to_dict(), "rows": rows}, fh, indent=2)
        print(f"wrote {args.out}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            listing = cmd_list()
            for kind in ("backbones", "strategies"):
                print(f"{kind}:")
                for e in listing[kind]:
                    params = ", ".join(f"{p['name']}={p['default']}" for p in e["params"])
                    print(f"  {e['name']:<14} {e['description']}" + (f" [{params}]" if params else ""))
            print("methods (backbone + strategy):")
            for m in listing["methods"]:
                pair = f"{m['backbone']} + {m['strategy']}" + (" [labels]" if m["uses_labels"] else "")
                print(f"  {m['name']:<16} {pair:<28} {m['paper']}")
            print("datasets: " + ", ".join(listing["datasets"]))
            print("protocols: " + ", ".join(listing["protocols"]))
            print("presets (--preset):")
            for name, note in listing["presets"].items():
                print(f"  {name:<30} {note}")
            return 0
        if args.command == "runs":
            return cmd_runs(args)
        if args.command == "sweep" and args.spec:
            return cmd_spec_sweep(args)
        cfg = config_from_args(args)
        cfg.validate()
        check_out(args.out)
        if args.command in ("sweep", "matrix"):
            return run_sweep(args, cfg)
        if args.method:
            return print_methods(compare_methods(cfg, _csv(args.method)), args.out)
        result = run_experiment(cfg)
    except ConfigError as err:
        print(f"error: {flag_message(err, args)}", file=sys.stderr)
        return 2
    except (DataError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - last resort: a message, never a raw traceback
        print(f"error: {error_text(err, 'set ADLAB_DEBUG=1 for the traceback')}", file=sys.stderr)
        if os.environ.get("ADLAB_DEBUG"):
            raise
        return 3
    for info in {json.dumps({k: v for k, v in s.info.items() if k == "shortage"}) for s in result.splits}:
        if info != "{}":
            print(f"note: {json.loads(info)['shortage']}")
    print(format_table(result.summary))
    payload = result.to_json()
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {args.out}")
    return 0
