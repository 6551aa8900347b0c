"""The code (notebooks included) is ruff clean at the configured rules, line length (E501, 120)
included: ``make lint`` as a test, so CI enforces it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.fail("ruff is not installed beside this Python (it is in requirements.lock)")
    out = subprocess.run([ruff, "check", "hierwbc", "hierarchy_editor", "tests", "bench", "reports", "notebooks"],
                         cwd=REPO, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    config = (REPO / "pyproject.toml").read_text()
    assert 'extend-select = ["E501"]' in config and "line-length = 120" in config
