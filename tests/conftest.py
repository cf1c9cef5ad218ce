import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "datasets"
# the app's run store (adcore.store.default_path) goes to a temporary file, never to ~/.adlab
os.environ["ADLAB_STORE"] = str(Path(tempfile.mkdtemp(prefix="adlab-store-")) / "runs.sqlite")


@pytest.fixture
def thyroid_path():
    path = SHARED / "adbench" / "38_thyroid.npz"
    if not path.exists():
        pytest.skip("shared ADBench data not present")
    return path
