"""Training metrics: every logged step appended to metrics.jsonl, and the reward curves as a PNG."""
from __future__ import annotations

from pathlib import Path

from transformers import TrainerCallback

from patchwarden.sandboxes.files import append_jsonl, atomic_path, read_jsonl

METRICS_FILE = "metrics.jsonl"
PLOT_FILE = "rewards.png"


class MetricsRecorder(TrainerCallback):
    """Appends every log (step, reward means/stds, loss, KL) to metrics.jsonl; redraws the plot on save."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.path = self.out / METRICS_FILE
        self.last_rewards: dict = {}  # the last logged step that carried rewards

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        record = {"step": state.global_step, **{k: v for k, v in logs.items() if isinstance(v, (int, float))}}
        if "reward" in record:
            self.last_rewards = record
        self.out.mkdir(parents=True, exist_ok=True)
        append_jsonl(self.path, record)

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.plot()

    def plot(self) -> None:
        if self.path.exists():
            plot_rewards(self.path, self.out / PLOT_FILE)


def plot_rewards(metrics_path: Path, png_path: Path) -> None:
    """Reward curves (total and each component's mean) against the step, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_jsonl(metrics_path) if "reward" in r]
    if not records:
        return
    keys = ["reward"] + sorted({k for r in records for k in r if k.startswith("rewards/") and k.endswith("/mean")})
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for key in keys:
        pts = [(r["step"], r[key]) for r in records if key in r]
        label = key.removeprefix("rewards/").removesuffix("/mean")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("mean reward")
    ax.set_title("Repair-R1 GRPO rewards")
    ax.grid(alpha=0.3)
    ax.legend()
    with atomic_path(png_path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
