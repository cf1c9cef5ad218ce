"""The CSV part of *Your data*: label column, anomaly and known-anomaly values, one-hot encoding, a preview,
and the checks that word problems in the file's own values."""
from __future__ import annotations

import streamlit as st

from adcore import app_support as sup
from adcore import data_page as ds_page
from adcore import upload_checks as checks
from adcore.data import DataError
from adcore.data.loaders import read_csv_text


def csv_options(raw: bytes, name: str) -> dict:
    """Label column and anomaly value (the rarer value by default), a preview, and the checks that word
    problems in the file's own values: one-class labels, text in numeric columns (never one-hot encoded)."""
    table = sup.cached_data([sup.fingerprint(raw), "csv table"], lambda: read_csv_text(raw, name)[0])
    cols = ["(no labels)"] + [str(c) for c in table.columns]
    if st.session_state.get("data_label_col") not in cols:
        st.session_state["data_label_col"] = next((c for c in cols if c.lower() in ds_page.LABEL_GUESS), "(no labels)")
    c1, c2 = st.columns(2)
    label_col = c1.selectbox("Label column", cols, key="data_label_col")
    options, problem = {}, None
    if label_col != "(no labels)":
        values = checks.label_values(table[label_col])
        counts = dict(values)
        seen = (sup.fingerprint(raw), label_col)
        if st.session_state.get("data_anomaly_value") not in counts or \
                st.session_state.get("data_label_seen", seen) != seen:
            st.session_state["data_anomaly_value"] = checks.anomaly_value_default(values)
        st.session_state["data_label_seen"] = seen
        value = c2.selectbox("Value meaning “anomaly”", list(counts), key="data_anomaly_value",
                             format_func=lambda v: f"{v} ({counts[v]:,} rows)",
                             help="by default the rarer value: anomalies are the minority")
        options = {"label_col": label_col, "anomaly_value": value}
        others = [v for v in counts if v != value]
        if len(others) >= 2:  # e.g. 0 normal, 1 anomaly, 2 known (labelled) anomaly
            if st.session_state.get("data_known_value") not in ["(none)", *others]:
                st.session_state["data_known_value"] = "(none)"
            known_value = st.selectbox("Value meaning “known anomaly” (optional)", ["(none)", *others],
                                       key="data_known_value",
                                       format_func=lambda v: v if v == "(none)" else f"{v} ({counts[v]:,} rows)",
                                       help="rows with this value are anomalies whose label the semi-supervised "
                                            "methods use; they always train, as labelled anomalies")
            if known_value != "(none)":
                options["known_value"] = known_value
        problem = checks.label_problem(label_col, values)
        if problem is None and (note := checks.label_warning(label_col, values, value)):
            st.warning(note)
    texts = checks.text_columns(table, skip=[label_col])
    if texts:
        listed = ", ".join(f"{c} ({n} values)" for c, n in list(texts.items())[:6])
        if st.checkbox(f"One-hot encode the text columns: {listed}", key="data_onehot",
                       help="each value becomes a 0/1 feature; columns of numbers are never encoded"):
            options["categorical"] = "onehot"
    st.dataframe(table.head(8), height=240)
    bad = checks.numeric_columns_with_text(table, skip=[label_col])
    if bad:
        raise DataError(checks.text_cells_message(name, bad))
    if problem:
        st.warning(f"Cannot use {label_col!r} as labels: {problem}", icon=":material/warning:")
        st.stop()
    return options
