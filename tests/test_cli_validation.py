"""The command line refuses bad values at the boundary: one line on stderr, exit code 2."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
import torch

from course_utils.models import DECODERS
from course_utils.tools.cli import decoder_name, main
from course_utils.training import CHECKPOINT_NAME, load_checkpoint

TINY = ["--dataset", "toy", "--num-shapes", "10", "--image-size", "32", "--input-size", "16",
        "--epochs", "1", "--batch-size", "4", "--quiet"]  # fmt: skip


def usage_error(argv: list[str], capsys) -> str:
    """Run ``main(argv)``; assert exit code 2 and one line on stderr; return that line."""
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line: no usage block, no traceback
    assert "Traceback" not in err and "error:" in err
    return err


def test_every_model_decoder_is_accepted_and_nothing_else():
    assert [decoder_name(name) for name in DECODERS] == list(DECODERS)
    assert decoder_name("depth") == "depth"  # chapter 08's depth network
    with pytest.raises(argparse.ArgumentTypeError, match="unknown decoder 'pointz'"):
        decoder_name("pointz")


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--minutes", "nan", "finite number above 0"),
        ("--minutes", "inf", "finite number above 0"),
        ("--minutes", "-1", "finite number above 0"),
        ("--minutes", "0", "finite number above 0"),
        ("--minutes", "ten", "expected a number"),
        ("--epochs", "0", "from 1 to"),
        ("--epochs", "2.5", "whole number"),
        ("--batch-size", "0", "from 1 to"),
        ("--batch-size", "-4", "from 1 to"),
        ("--input-size", "0", "from 1 to"),
        ("--image-size", "4", "from 8 to"),
        ("--num-shapes", "3", "from 10 to"),
        ("--lr", "nan", "finite number above 0"),
        ("--lr", "-0.1", "finite number above 0"),
        ("--device", "bogus", "unknown device 'bogus'"),
        ("--device", "meta", "unknown device 'meta'"),
        ("--encoder", "vgg", "invalid choice"),
        ("--dataset", "shapenet", "invalid choice"),
        ("--decoder", "pointz", "unknown decoder 'pointz'"),
        ("--threads", "0", "from 1 to"),
        ("--seed", "-1", "from 0 to"),
        ("--data-seed", "x", "whole number"),
    ],
)
def test_train_rejects_bad_values(flag, value, message, tmp_path, capsys):
    argv = ["train", "--decoder", "points", *TINY, "--out", str(tmp_path / "run")]
    argv += [flag, value]
    line = usage_error(argv, capsys)
    assert flag in line and message in line
    assert not (tmp_path / "run").exists()  # nothing was started


@pytest.mark.skipif(torch.cuda.is_available(), reason="this PyTorch has CUDA")
def test_train_device_cuda_without_a_gpu(tmp_path, capsys):
    line = usage_error(["train", "--decoder", "points", *TINY, "--device", "cuda"], capsys)
    assert "no CUDA GPU" in line and "--device" in line


def test_evaluate_rejects_bad_values(tmp_path, capsys):
    line = usage_error(["evaluate", str(tmp_path), "--num-shapes", "0"], capsys)
    assert "--num-shapes" in line
    line = usage_error(["evaluate", str(tmp_path), "--split", "everything"], capsys)
    assert "--split" in line and "invalid choice" in line


def test_run_notebooks_rejects_a_bad_timeout(capsys):
    line = usage_error(["run-notebooks", "--timeout", "0"], capsys)
    assert "--timeout" in line and "at least 1" in line


def test_resume_and_force_together_are_refused(tmp_path, capsys):
    line = usage_error(["train", "--decoder", "points", *TINY, "--resume", "--force"], capsys)
    assert "not allowed with argument" in line


def test_train_refuses_a_folder_with_a_checkpoint_then_resume_or_force(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--decoder", "voxels-mlp", *TINY, "--out", str(out)]
    assert main(argv) == 0
    first = (out / CHECKPOINT_NAME).read_bytes()
    capsys.readouterr()

    # Again without --resume/--force: refused in one line, the checkpoint untouched.
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--resume" in err and "--force" in err
    assert str(out / CHECKPOINT_NAME) in err
    assert (out / CHECKPOINT_NAME).read_bytes() == first

    # --resume continues it.
    assert main([*argv, "--resume", "--epochs", "2"]) == 0
    assert load_checkpoint(out)["epoch"] == 2
    resumed = (out / CHECKPOINT_NAME).read_bytes()

    # --force starts over and keeps the old one as last.pt.bak (then .bak2, never lost).
    assert main([*argv, "--force"]) == 0
    assert "kept as" in capsys.readouterr().out
    assert (out / (CHECKPOINT_NAME + ".bak")).read_bytes() == resumed
    assert load_checkpoint(out)["epoch"] == 1
    forced = (out / CHECKPOINT_NAME).read_bytes()
    assert main([*argv, "--force"]) == 0
    assert (out / (CHECKPOINT_NAME + ".bak")).read_bytes() == resumed
    assert (out / (CHECKPOINT_NAME + ".bak2")).read_bytes() == forced


@pytest.mark.parametrize("config", [[1, 2, 3], "voxels", {"data": "course"}])
def test_evaluate_a_checkpoint_whose_config_is_not_a_mapping(config, tmp_path, capsys):
    state = {"format": "learning3d/single-view", "version": 1, "model": {}, "optimizer": {},
             "epoch": 1, "history": {}, "config": config}  # fmt: skip
    torch.save(state, tmp_path / CHECKPOINT_NAME)
    code = main(["evaluate", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code in (1, 2) and err.count("\n") == 0 and "Traceback" not in err
    assert str(tmp_path) in err and "'config' is not a mapping" in err


def test_the_module_exits_2_without_a_traceback(tmp_path):
    """The real entry point, as a learner types it."""
    result = subprocess.run(
        [sys.executable, "-m", "course_utils", "train", "--decoder", "points", "--minutes", "nan"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "argument --minutes: must be a finite number above 0, got 'nan'" in result.stderr
