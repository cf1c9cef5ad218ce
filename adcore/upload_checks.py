"""Checks of an uploaded table before it is loaded, worded in the file's own values: the label column's
classes and the anomaly value to default to, and text cells in columns that hold numbers."""
from __future__ import annotations

import pandas as pd

NUMERIC_SHARE = 0.5  # a column whose non-empty cells are at least this share numbers is a numeric column


def label_values(labels: pd.Series) -> list[tuple[str, int]]:
    """(value as text, count) of a label column, rarest first (ties: "1" first, then by value)."""
    counts = labels.dropna().astype(str).str.strip().value_counts()
    return sorted(counts.items(), key=lambda vc: (vc[1], vc[0] != "1", vc[0]))


def anomaly_value_default(values: list[tuple[str, int]]) -> str | None:
    """The value to read as "anomaly": the rarest one (anomalies are the minority); with three or more
    values, 1 when it is a minority (the usual coding; the rarest is then often the known anomalies)."""
    if not values:
        return None
    total = sum(n for _, n in values)
    ones = dict(values).get("1")
    if len(values) > 2 and ones is not None and ones < total / 2:
        return "1"
    return values[0][0]


def label_problem(column: str, values: list[tuple[str, int]]) -> str | None:
    """Why this label column cannot tell normals from anomalies (one class), in the file's values; else None."""
    if len(values) == 1:
        value, n = values[0]
        return (f"every one of the {n:,} rows has {column} = {value}: the column holds one class, so it marks no "
                f"anomalies (or no normals). Choose another label column, or “(no labels)” to train on "
                f"everything without labels.")
    return None


def label_warning(column: str, values: list[tuple[str, int]], anomaly_value: str | None) -> str | None:
    """A note when the chosen anomaly value marks most rows as anomalies."""
    total = sum(n for _, n in values)
    share = dict(values).get(anomaly_value, 0) / total if total else 0.0
    if share > 0.5:
        rarest = values[0][0]
        return (f"{column} = {anomaly_value} marks {share:.1%} of the rows as anomalies; anomalies are usually the "
                f"rarer value ({column} = {rarest}).")
    return None


def numeric_columns_with_text(df: pd.DataFrame, skip=(), max_cells: int = 3) -> dict[str, list[tuple[int, str]]]:
    """{column: [(data row, text), …]} for columns that are mostly numbers but hold text in some cells
    (data row 1 = the first row under the header); the first ``max_cells`` bad cells of each."""
    out = {}
    for col in df.columns:
        if col in skip or pd.api.types.is_numeric_dtype(df[col]):
            continue
        filled = df[col].dropna()
        numbers = pd.to_numeric(filled, errors="coerce")
        if len(filled) and numbers.notna().mean() >= NUMERIC_SHARE:
            bad = filled[numbers.isna()]
            out[str(col)] = [(int(i) + 1, str(v)) for i, v in bad.head(max_cells).items()]
    return out


def text_columns(df: pd.DataFrame, skip=()) -> dict[str, int]:
    """{column: number of distinct values} of the columns that hold text (the ones one-hot encoding may encode)."""
    bad = numeric_columns_with_text(df, skip)
    return {str(c): int(df[c].nunique()) for c in df.columns
            if c not in skip and str(c) not in bad and not pd.api.types.is_numeric_dtype(df[c])}


def text_cells_message(name: str, bad: dict[str, list[tuple[int, str]]]) -> str:
    """The error for text in numeric columns, naming the first bad cells."""
    parts = [f"column {col!r}: " + ", ".join(f"data row {r} (line {r + 1}) has {v!r}" for r, v in cells)
             for col, cells in list(bad.items())[:5]]
    return (f"{name} has text in columns that otherwise hold numbers — " + "; ".join(parts) + ". Fix or remove "
            "these cells (a missing value must be empty); such columns are never one-hot encoded.")
