"""``task.on_completed(callback)``: called once when the job is done, waited for by the experiment."""

from __future__ import annotations

from runtime_support import executions, run_driver, write_plan


def test_callback_runs_once_after_the_job_and_may_submit_tasks(tmp_path):
    plan = write_plan(tmp_path, """
        import threading
        calls = []

        def trained():
            calls.append(threading.current_thread().name)
            log("callback")
            Step.C(index=7).submit()  # the experiment waits for this job too

        model = Model.C(name="m", hidden_size=4)
        Train.C(model=model, learning_rate=0.1, sleep=0.5).submit().on_completed(trained)
        before = Train.C(model=model, learning_rate=0.2)
        before.on_completed(lambda: log("before submit"))  # given before submit(): attached by it
        before.submit()
        xp.wait()
        print("CALLS", calls)
    """)
    workspace = tmp_path / "ws"
    result = run_driver(plan, workspace, "callbacks")
    assert result.returncode == 0, result.stderr
    assert "CALLS ['xpm-callbacks']" in result.stdout
    lines = executions(workspace)
    assert lines.count("callback") == 1 and lines.count("before submit") == 1
    assert lines.index("end train 4 0.1") < lines.index("callback") < lines.index("start step 7")
    assert "end step 7" in lines and "FAILED 0" in result.stdout


def test_callback_of_a_done_job_runs_at_once_and_the_experiment_waits_for_it(tmp_path):
    body = """
        task = Train.C(model=Model.C(name="m", hidden_size=4), learning_rate=0.1).submit()
        task.wait()
        def slow():
            import time
            time.sleep(1)
            log("late callback")
        task.on_completed(slow)
    """
    plan, workspace = write_plan(tmp_path, body), tmp_path / "ws"
    assert run_driver(plan, workspace, "done").returncode == 0
    assert executions(workspace).count("late callback") == 1
    # Run again: the job is already done (not run again); its callback still runs, once.
    result = run_driver(plan, workspace, "done")
    assert result.returncode == 0, result.stderr
    assert executions(workspace).count("late callback") == 2
    assert len([line for line in executions(workspace) if line.startswith("end train")]) == 1


def test_a_failing_callback_is_logged_with_the_job_and_the_run_goes_on(tmp_path):
    plan = write_plan(tmp_path, """
        def broken():
            raise ValueError("callback bug")
        Step.C(index=1).submit().on_completed(broken)
        Step.C(index=2).submit().on_completed(lambda: log("second callback"))
    """)
    workspace = tmp_path / "ws"
    result = run_driver(plan, workspace, "broken")
    assert result.returncode == 0, result.stderr
    assert "on_completed callback" in result.stderr and "tasks.step/" in result.stderr
    assert "ValueError: callback bug" in result.stderr
    assert "second callback" in executions(workspace) and "FAILED 0" in result.stdout


def test_no_callback_for_a_failed_job(tmp_path):
    plan = write_plan(tmp_path, """
        Fail.C(code=3).submit().on_completed(lambda: log("should not run"))
    """)
    workspace = tmp_path / "ws"
    result = run_driver(plan, workspace, "failing")
    assert "FAILED 1" in result.stdout
    assert "should not run" not in executions(workspace)


def test_on_completed_on_a_task_output_and_on_a_plain_configuration(tmp_path):
    (tmp_path / "outputs.py").write_text(
        "from xpm_core import Config, Param, Task\n\n"
        "class Result(Config):\n    name: Param[str]\n\n"
        "class Produce(Task):\n    n: Param[int]\n\n"
        "    def task_outputs(self, dep):\n        return dep(Result.C(name='r'))\n\n"
        "    def execute(self):\n        pass\n"
    )
    plan = write_plan(tmp_path, """
        from outputs import Produce, Result
        result = Produce.C(n=1).submit()  # a Result marked as the task's output
        result.on_completed(lambda: log("output callback"))
        try:
            Result.C(name="alone").on_completed(print)
        except TypeError as error:
            print("ERROR", error)
    """)
    workspace = tmp_path / "ws"
    result = run_driver(plan, workspace, "outputs")
    assert result.returncode == 0, result.stderr
    assert executions(workspace).count("output callback") == 1
    assert "ERROR Result is neither a task nor the output of one" in result.stdout
