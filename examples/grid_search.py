"""A small grid search with xpm: train a toy model for each (learning rate, size), then evaluate it.

Run:  python examples/grid_search.py [WORKSPACE]   (default: ./workspace)

Each distinct task runs once: run it twice and the second run finishes at once, running nothing.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from xpm_core import Config, Meta, Param, PathGenerator, Task, experiment, field, tag


class Model(Config):
    """A toy model."""

    name: Param[str]
    hidden_size: Param[int]
    """Width of the hidden layer"""


class Train(Task):
    """'Trains' the model: writes a loss that depends on its parameters."""

    model: Param[Model]
    learning_rate: Param[float]
    epochs: Param[int] = field(default=3, ignore_default=True)
    metrics: Meta[Path] = field(default_factory=PathGenerator("metrics.json"))

    def execute(self) -> None:
        loss = 1.0
        for epoch in range(self.epochs):
            loss *= 1 - self.learning_rate * math.log(self.model.hidden_size) / 10
            print(f"epoch {epoch}: loss {loss:.4f}", flush=True)
        self.metrics.write_text(json.dumps({"loss": loss}))


class Evaluate(Task):
    """Scores a trained model (here: reads the training loss back)."""

    trained: Param[Train]
    score: Meta[Path] = field(default_factory=PathGenerator("score.json"))

    def execute(self) -> None:
        loss = json.loads(self.trained.metrics.read_text())["loss"]
        self.score.write_text(json.dumps({"accuracy": round(1 - loss / 2, 4)}))


def main(workspace: Path) -> None:
    evaluations = []
    with experiment(workspace, "grid-search") as xp:
        for learning_rate in (0.1, 0.01):
            for hidden_size in (64, 256):
                model = Model.C(name="toy", hidden_size=tag(hidden_size))
                trained = Train.C(model=model, learning_rate=tag(learning_rate)).submit()
                evaluations.append(Evaluate.C(trained=trained).submit())

    print(f"\n{'learning_rate':>13}  {'hidden_size':>11}  accuracy")
    for evaluation in evaluations:
        tags = evaluation.tags()
        accuracy = json.loads(evaluation.score.read_text())["accuracy"]
        print(f"{tags['learning_rate']:>13}  {tags['hidden_size']:>11}  {accuracy}")
    print(f"\nworkspace: {xp.workspace}")
    print(f"this run:  {xp.run_dir}")
    print(f"a job log: {evaluations[0].job.stdout}")
    failed = xp.failed_jobs()
    if failed:
        sys.exit(f"{len(failed)} job(s) failed")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "workspace").absolute())
