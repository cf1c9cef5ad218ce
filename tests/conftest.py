import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "datasets"


@pytest.fixture
def thyroid_path():
    path = SHARED / "adbench" / "38_thyroid.npz"
    if not path.exists():
        pytest.skip("shared ADBench data not present")
    return path
