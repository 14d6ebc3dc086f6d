"""scripts/setup.sh: refuses an unknown BH_TORCH before it creates or installs anything."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_an_unknown_torch_build_is_refused_before_anything_is_installed(tmp_path):
    venv = tmp_path / "venv"
    out = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh")], capture_output=True,
                         text=True, timeout=60,
                         env={**os.environ, "BH_TORCH": "rocm", "VENV": str(venv)})
    assert out.returncode == 2
    assert out.stderr == "setup: BH_TORCH must be cpu or cuda, not 'rocm'\n"
    assert not venv.exists()
