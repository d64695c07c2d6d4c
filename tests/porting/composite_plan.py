"""Builds the plans of composite_module.py and prints {plan name: identifier} as JSON.

Run with xpm (``python composite_plan.py WORKSPACE``) or, once its imports are turned back into
``experimaestro``, with experimaestro 2.7.0 (record_composite.py): the outputs must be equal.
"""

import json
import sys
from pathlib import Path

from composite_module import (
    Checkpoint,
    Encoder,
    Evaluate,
    Learn,
    LoadWeights,
    Model,
    NewScorer,
    OldScorer,
    Ranker,
    ScoreList,
    Seed,
    SingleScore,
    Values,
    Vocabulary,
    meta_encoder,
)

from xpm_core import RunMode, tag
from xpm_core.scheduler import experiment

MARKER = "=== identifiers"


def hexid(config):
    return config.__identifier__().all.hex()


def plans(workspace: Path) -> dict:
    ids = {}
    vocabulary = Vocabulary.C(size=100, path=workspace / "vocab.txt", language="fr")
    other_vocabulary = Vocabulary.C(size=100, path=workspace / "elsewhere.txt", extra=workspace, language="fr")
    ids["vocabulary"] = hexid(vocabulary)
    ids["vocabulary.datapath-ignored"] = hexid(other_vocabulary)
    shared = Encoder.C(vocabulary=vocabulary, hidden=tag(64))
    twin = Encoder.C(vocabulary=vocabulary, hidden=64)
    ids["model.shared-encoder"] = hexid(Model.C(encoder=shared, decoder=shared))
    ids["model.twin-encoders"] = hexid(Model.C(encoder=shared, decoder=twin))
    ids["model.heads-scale"] = hexid(
        Model.C(encoder=shared, decoder=shared, heads={"a": 1}, layers=[3], scale=0.5)
    )
    ids["model.dropout-default"] = hexid(
        Model.C(encoder=Encoder.C(vocabulary=vocabulary, hidden=8, dropout=0.1), decoder=twin)
    )
    ids["model.meta-decoder"] = hexid(Model.C(encoder=twin, decoder=meta_encoder(vocabulary)))
    ids["values.deprecated-setter"] = hexid(Values.C(value=3))
    ids["values.new"] = hexid(Values.C(values=[3]))
    ids["scorer.old"] = hexid(OldScorer.C(k=2))
    ids["scorer.new"] = hexid(NewScorer.C(k=2))
    ids["scorer.converted-old"] = hexid(SingleScore.C(k=4))
    ids["scorer.converted-new"] = hexid(ScoreList.C(ks=[4]))
    ids["load-weights"] = hexid(LoadWeights.C(value=twin, path=workspace / "w.bin"))

    # Tasks without generated paths may be submitted in DRY_RUN outside an experiment (2.7.0 too)
    ranker = Ranker.C(scorer=SingleScore.C(k=5))
    ranker.submit(run_mode=RunMode.DRY_RUN)
    ids["ranker.outside-experiment"] = hexid(ranker)

    with experiment(workspace, "composite", run_mode=RunMode.DRY_RUN):
        for max_iter in (10, 20):
            model = Model.C(encoder=shared, decoder=twin)
            learn = Learn.C(model=model, max_iter=max_iter, lr=tag(1e-3))
            checkpoint = learn.submit(init_tasks=[Seed.C(seed=tag(1))])
            ids[f"learn.{max_iter}"] = hexid(learn)
            ids[f"learn.{max_iter}.checkpoint"] = hexid(checkpoint)
            ids[f"learn.{max_iter}.partial"] = learn.checkpoints_path.parent.name  # partial identifier
            evaluate = Evaluate.C(checkpoint=checkpoint)
            evaluate.submit()
            ids[f"evaluate.{max_iter}"] = hexid(evaluate)
        ids["learn.files"] = [Path(learn.stdout).name, Path(learn.stderr).name, Path(learn.log).name]
        ids["checkpoint.plain"] = hexid(Checkpoint.C(model=model, step=20))
    return ids


if __name__ == "__main__":
    identifiers = plans(Path(sys.argv[1]).absolute())
    print(MARKER)  # what comes before is the tools' dry-run output
    print(json.dumps(identifiers, indent=1, sort_keys=True))
