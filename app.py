"""AD Lab: anomaly detection with contaminated training data — the Streamlit app.

Run with ``make run`` (``streamlit run app.py``). The landing page is the toy
playground with the LOE preset; all computation happens in ``adcore``.
"""
from pathlib import Path

import streamlit as st

st.set_page_config(page_title="AD Lab", page_icon=str(Path(__file__).parent / "assets" / "favicon.png"),  # served locally
                   layout="wide", initial_sidebar_state="auto")  # auto: collapsed on phones

from pages import _first_view, _ui  # noqa: E402  (after set_page_config)

_first_view.start_warmup()  # once per process: the default toy run and the UMAP/t-SNE compilation, in the background

nav = st.navigation([
    st.Page("pages/toy.py", title="Toy playground", icon=":material/scatter_plot:", url_path="toy", default=True),
    st.Page("pages/data.py", title="Your data", icon=":material/upload_file:", url_path="data"),
    st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:", url_path="compare"),
    st.Page("pages/sensitivity.py", title="Sensitivity", icon=":material/tune:", url_path="sensitivity"),
    st.Page("pages/benchmark.py", title="Benchmark", icon=":material/table_chart:", url_path="benchmark"),
])
st.sidebar.caption("AD Lab · anomaly detection on contaminated data · LOE (Qiu et al. 2022), "
                   "IAD (Kim et al.)  \n" + _first_view.warm_caption())
_ui.keep_settings()  # settings survive visits to other pages
nav.run()
