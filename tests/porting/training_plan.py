"""An experimaestro 2.7.0 plan using task progress, ``on_completed`` and a service, ported by changing its imports.

``test_training_plan.py`` runs it unchanged (``python training_plan.py WORKSPACE``) and watches its
progress with ``xpm jobs list`` while it runs. With ``xpm_core`` turned back into
``experimaestro``, it is the plan an experimaestro user wrote.
"""

import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from xpm_core import Param, Task, experiment, progress, tqdm
from xpm_core.scheduler.services import WebService


class Train(Task):
    epochs: Param[int]

    def execute(self):
        progress(0.0, desc="training")
        for _ in tqdm(range(self.epochs), desc="epochs"):
            time.sleep(0.5)


class Evaluate(Task):
    model: Param[Train]

    def execute(self):
        print(f"evaluated a model of {self.model.epochs} epochs")


class Results(WebService):
    """The run's results folder, served over HTTP while the plan runs."""

    id = "results"

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder

    def description(self):
        return f"the files of {self.folder}"

    def state_dict(self):
        return {"folder": self.folder}

    def _serve(self, running: threading.Event):
        handler = partial(SimpleHTTPRequestHandler, directory=str(self.folder))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}/"
        running.set()
        server.serve_forever()


def main(workspace: str) -> None:
    completed = []
    with experiment(workspace, "ported") as xp:
        results = xp.add_service(Results(xp.resultspath))
        print("results served at", results.get_url(), flush=True)
        train = Train.C(epochs=int(sys.argv[2]) if len(sys.argv) > 2 else 20)
        output = train.submit()

        def evaluate():
            completed.append(train)
            Evaluate.C(model=output).submit()

        train.on_completed(evaluate)
    print(f"on_completed called {len(completed)} time(s)")


if __name__ == "__main__":
    main(sys.argv[1])
