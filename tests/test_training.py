"""The training loop (``course_utils.training``) and the ``train``/``evaluate`` commands.

Checkpoints must be atomic, resumable (an interrupted run resumed at an epoch boundary
equals an uninterrupted one) and safe to load; broken ones must give a clear message.
Everything runs on tiny models and the synthetic :class:`ToyShapes` data.
"""

from __future__ import annotations

import math
import os

import pytest
import torch

import course_utils.config as course_config
from course_utils.models import LossConfig, ModelConfig, ToyShapes
from course_utils.tools.cli import main
from course_utils.training import (
    CHECKPOINT_NAME,
    CheckpointError,
    TrainConfig,
    _lr_factor,
    load_checkpoint,
    load_model,
    plot_curves,
    save_checkpoint,
    train,
)

# Tiny models: one thread is faster than two waiting on each other (see conftest.py).
pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_train_config(decoder: str = "points", epochs: int = 2, **kwargs) -> TrainConfig:
    options = {
        "points": {"num_points": 128, "hidden": [64]},
        "voxels-conv": {"channels": [8, 4, 4, 4]},
    }
    model = ModelConfig(
        decoder=decoder,
        latent_dim=16,
        input_size=32,
        encoder_options={"channels": [8, 16]},  # BatchNorm: its running stats must resume too
        decoder_options=options[decoder],
        loss=LossConfig(gt_points=128),
    )
    return TrainConfig(model=model, epochs=epochs, batch_size=4, lr=3e-3, device="cpu", **kwargs)


@pytest.fixture(scope="module")
def data() -> tuple[ToyShapes, ToyShapes]:
    return ToyShapes(8, image_size=32, points_per_shape=300), ToyShapes(4, 32, 300, seed=1)


# ------------------------------------------------------------------ checkpoints
def test_checkpoint_round_trip_and_atomic_replace(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    state = {"format": "learning3d/single-view", "version": 1, "model": {"w": torch.ones(3)},
             "optimizer": {}, "epoch": 1, "history": {}, "config": {}}  # fmt: skip
    save_checkpoint(state, path)
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(3))

    # a crash in the middle of writing leaves the old checkpoint and no temporary file
    def broken_save(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({**state, "epoch": 2}, path)
    assert os.listdir(tmp_path) == ["ckpt.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1


@pytest.mark.parametrize(
    "content, message",
    [(b"not a checkpoint at all", "corrupted"), (None, "truncated"), (b"", "corrupted")],
)
def test_a_corrupted_checkpoint_gives_a_clear_error(tmp_path, data, content, message):
    config = tiny_train_config(epochs=1)
    train(config, data[0], out_dir=tmp_path, progress=False)
    path = tmp_path / CHECKPOINT_NAME
    if content is None:  # cut the real file in half
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path)
    assert "Delete it and train again" in str(info.value)
    assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError):
        train(config, data[0], out_dir=tmp_path, resume=True, progress=False)


def test_a_checkpoint_of_something_else_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a single-view checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_resume_gives_the_same_model_as_training_straight_through(tmp_path, data):
    config = tiny_train_config(epochs=2)
    straight = train(config, data[0], data[1], out_dir=tmp_path / "a", progress=False)
    assert straight.stopped == "finished" and straight.history["epoch"] == [1, 2]

    def killed_after_epoch_one(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt  # as if the learner pressed Ctrl-C (or the kernel died)

    with pytest.raises(KeyboardInterrupt):
        train(config, data[0], data[1], out_dir=tmp_path / "b", progress=False,
              on_epoch_end=killed_after_epoch_one)  # fmt: skip
    assert load_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)["epoch"] == 1
    resumed = train(config, data[0], data[1], out_dir=tmp_path / "b", resume=True, progress=False)
    assert resumed.history["epoch"] == [1, 2]
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, atol=1e-5, rtol=1e-4)
    for key in ("train_loss", "val_loss"):
        assert resumed.history[key] == pytest.approx(straight.history[key], rel=1e-4)
    # and training without resuming really differs from the first epoch's checkpoint
    model, state = load_model(tmp_path / "b" / CHECKPOINT_NAME, device="cpu")
    assert state["epoch"] == 2 and model.kind == "points" and not model.training


def test_resuming_a_finished_run_returns_its_model_without_training(tmp_path, data):
    config = tiny_train_config(epochs=1)
    first = train(config, data[0], out_dir=tmp_path, progress=False)
    before = (tmp_path / CHECKPOINT_NAME).stat().st_mtime_ns
    again = train(config, data[0], out_dir=tmp_path, resume=True, progress=False)
    assert again.stopped == "finished" and again.history["epoch"] == [1]
    assert (tmp_path / CHECKPOINT_NAME).stat().st_mtime_ns == before  # not rewritten
    for name, value in first.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[name], value)
    assert not again.model.training
    # a longer run continues from it
    longer = train(tiny_train_config(epochs=2), data[0], out_dir=tmp_path, resume=True,
                   progress=False)  # fmt: skip
    assert longer.history["epoch"] == [1, 2]


def test_resume_refuses_a_different_model(tmp_path, data):
    train(tiny_train_config(epochs=1), data[0], out_dir=tmp_path, progress=False)
    other = tiny_train_config("voxels-conv", epochs=1)
    with pytest.raises(CheckpointError, match="drop --resume"):
        train(other, data[0], out_dir=tmp_path, resume=True, progress=False)


def test_time_budget_stops_training(tmp_path, data):
    config = tiny_train_config(epochs=50, minutes=1e-4)  # 6 ms: one step, then stop
    result = train(config, data[0], out_dir=tmp_path, progress=False)
    assert result.stopped == "time budget"
    assert len(result.history["epoch"]) == 1
    assert load_checkpoint(tmp_path)["stopped"] == "time budget"


def test_cpu_clock_budget_counts_process_time(tmp_path, data, monkeypatch):
    # A fake CPU clock that jumps a minute per reading: the budget must end the run on it,
    # whatever the wall clock says.
    ticks = iter(range(0, 10_000, 60))
    monkeypatch.setitem(course_config.CLOCKS, "cpu", lambda: float(next(ticks)))
    config = tiny_train_config(epochs=50, minutes=1.5, clock="cpu")
    result = train(config, data[0], out_dir=tmp_path, progress=False)
    assert result.stopped == "time budget"
    assert len(result.history["epoch"]) == 1
    assert load_checkpoint(tmp_path)["config"]["clock"] == "cpu"
    with pytest.raises(ValueError, match="clock"):
        train(tiny_train_config(minutes=1.0, clock="sundial"), data[0], progress=False)


def test_cosine_schedule_and_loss_curves(data):
    config = tiny_train_config(epochs=3, schedule="cosine", final_lr_fraction=0.1)
    assert _lr_factor(config, 0.0) == pytest.approx(1.0)
    assert _lr_factor(config, 0.5) == pytest.approx(0.55)
    assert _lr_factor(config, 1.0) == pytest.approx(0.1)
    result = train(config, data[0], data[1], progress=False)
    history = result.history
    assert history["lr"][0] > history["lr"][-1]
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert all(math.isfinite(v) for v in history["val_loss"])
    assert set(history["parts"]) == {"chamfer"}
    fig = plot_curves([("a", history), ("b", history)])
    assert len(fig.axes[0].lines) == 4  # train + val per run
    with pytest.raises(ValueError, match="schedule"):
        train(tiny_train_config(schedule="step"), data[0], progress=False)


# ------------------------------------------------------------------ the command line
def test_cli_train_then_evaluate_a_tiny_run(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--dataset", "toy", "--num-shapes", "10", "--image-size", "32", "--input-size", "32",
            "--epochs", "1", "--batch-size", "4", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(["train", "--decoder", "voxels-conv", *args]) == 0
    printed = capsys.readouterr().out
    assert "checkpoint:" in printed and (out / CHECKPOINT_NAME).is_file()
    assert main(["train", "--decoder", "voxels-conv", *args, "--resume", "--epochs", "2"]) == 0
    assert "resuming" not in capsys.readouterr().out  # --quiet hides it; the epoch counts:
    assert load_checkpoint(out)["epoch"] == 2

    assert main(["evaluate", str(out / CHECKPOINT_NAME), "--quiet", "--no-figures"]) == 0
    printed = capsys.readouterr().out
    for row in ("voxels-conv (model)", "mean shape", "retrieval (pixels)", "retrieval (latent)"):
        assert f"| {row} |" in printed
    assert "F1@0.05" in printed and "box" in printed and "ellipsoid" in printed
    assert (out / "metrics.json").is_file() and (out / "metrics.csv").is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "no/such/checkpoint.pt"], "no checkpoint at"),
    ],
)
def test_cli_errors_are_one_clear_line(argv, message, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert err.strip().count("\n") == 0


def test_cli_evaluate_a_corrupted_checkpoint(tmp_path, capsys):
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"garbage")
    assert main(["evaluate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "corrupted" in err and err.strip().count("\n") == 0


def test_cli_end_to_end_on_the_real_course_dataset(tmp_path, monkeypatch, capsys):
    """From a fresh cache: generate a tiny course dataset, train one epoch, evaluate."""
    pytest.importorskip("course_utils.datasets")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "points"
    argv = ["train", "--decoder", "points", "--num-shapes", "12", "--image-size", "32",
            "--input-size", "32", "--epochs", "1", "--batch-size", "8", "--out", str(out),
            "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert any((tmp_path / "cache" / "shapes").iterdir())  # the dataset was generated and cached
    capsys.readouterr()
    assert main(["evaluate", str(out), "--quiet", "--no-figures", "--no-baselines"]) == 0
    printed = capsys.readouterr().out
    assert "| points (model) |" in printed and "chair" in printed
