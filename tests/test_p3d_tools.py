"""The contributor tool that runs PyTorch3D's tutorials: how it rewrites their cells."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "run_pytorch3d_tutorials.py"


def _tool():
    spec = importlib.util.spec_from_file_location("run_pytorch3d_tutorials", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shell_lines_are_disabled_and_loops_shortened():
    source = "\n".join(
        [
            "!pip install pytorch3d",
            "if need_pytorch3d:",
            "    !wget https://example.com/cow.obj",
            "pip_list = !pip freeze",
            "Niter = 2000",
            "n_iter = 1",
            "batch_size = 6",
            "loop = tqdm(range(200))",
            "def spin(model, n_frames = 50):",
            "    return spin(model, n_frames=3*5)",
        ]
    )
    quick = _tool().rewrite_source(source, 2).splitlines()
    assert quick[0] == "pass  # !pip install pytorch3d"
    assert quick[2] == "    pass  # !wget https://example.com/cow.obj"  # the if-block stays valid
    assert quick[3] == "pip_list = []  # pip_list = !pip freeze"
    assert quick[4].startswith("Niter = 2") and quick[5] == "n_iter = 1"
    assert quick[6].startswith("batch_size = 2")
    assert quick[7] == "loop = tqdm(range(2))"
    assert quick[8] == "def spin(model, n_frames=2):"
    assert quick[9] == "    return spin(model, n_frames=2)"
    compile("\n".join(quick), "cell", "exec")  # still Python
    # Without --quick only the shell lines change.
    full = _tool().rewrite_source(source, None).splitlines()
    assert full[4:] == source.splitlines()[4:]
