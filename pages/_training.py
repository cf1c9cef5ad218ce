"""Training from a page: progress, cancel and the error messages of a run. Layout only: the run itself is
``adcore`` (``app_support.run_cached``)."""
from __future__ import annotations

import logging
import time
from dataclasses import replace

import streamlit as st

from adcore import app_support as sup
from adcore.data import DataError
from adcore.data.limits import check_training

LOG = logging.getLogger("adlab.app")

def mark_cancel(page: str) -> None:
    st.session_state[f"{page}_cancel_requested"] = True


def cancel_requested(page: str) -> bool:
    return bool(st.session_state.pop(f"{page}_cancel_requested", False))


def train(page: str, cfg, *, dataset=None, fingerprint: str = "", eval_sets=None, label: str = "Training",
          oe_dataset=None, methods: list[str] | None = None):
    """Train (or fetch from the cache) with a progress bar and a Cancel button.

    Clicking Cancel (or any widget) reruns the page; Streamlit then stops this
    script at the next progress update, which unwinds the training loop. The
    Cancel button's callback records the cancel for the next run.
    Returns (key, result), or None after an error (shown in the page).
    """
    key = sup.run_key(replace(cfg, method="|".join(methods)) if methods else cfg, fingerprint, eval_sets)
    hit = sup.STORE.get(key)
    if hit is not None:
        return key, hit
    slot = st.empty()
    box = slot.container()
    bar = box.progress(0.0, text=f"{label}…")
    box.button("Cancel training", key=f"{page}_cancel", on_click=mark_cancel, args=(page,), icon=":material/stop_circle:")
    last = [0.0]
    start = time.perf_counter()

    def progress(done, total):
        now = time.perf_counter()
        if now - last[0] > 0.1 or done == total:
            last[0] = now
            frac = done / total if total else 0.0
            bar.progress(min(frac, 1.0), text=f"{label}: epoch {done} of {total} · {now - start:.1f} s"
                         + sup.eta_text(done, total, now - start))

    try:
        if dataset is not None:
            check_training(cfg, dataset)  # the memory estimate, before anything is allocated
        if methods:  # named methods side by side, one combined result
            out = sup.run_methods_cached(cfg, methods, dataset=dataset, data_fingerprint=fingerprint,
                                         progress=progress, oe_dataset=oe_dataset)
        else:
            out = sup.run_cached(cfg, dataset=dataset, data_fingerprint=fingerprint, eval_sets=eval_sets,
                                 progress=progress, oe_dataset=oe_dataset)
    except (DataError, ValueError) as err:
        slot.empty()
        st.error(f"Cannot train with these settings: {err}")
        return None
    except sup.Cancelled:
        slot.empty()
        st.warning("Training stopped early; nothing was stored.")
        return None
    except Exception as err:  # noqa: BLE001 - any other failure: a message here, the traceback in the log
        slot.empty()
        show_error("Training failed", err)
        return None
    slot.empty()
    return out


def show_error(action: str, err: BaseException) -> None:
    """``err`` as a specific message on the page (``action``: what failed, e.g. "Cannot use this data");
    the traceback of an unexpected error goes to the server log, never to the page."""
    from adcore.validation import error_text

    if isinstance(err, ValueError):
        LOG.info("%s: %s", action, err)
    else:
        LOG.error("%s: %s", action, err, exc_info=err)
    st.error(f"{action}: {error_text(err)}")
