"""The pages in a real headless Chromium: what a researcher sees and does, and what is refused.

Set ``XPM_WEB_SCREENSHOTS=DIR`` to save screenshots of the main pages there (docs/plugins/).
"""

from __future__ import annotations

import http.server
import io
import os
import threading
from pathlib import Path

import pytest

from xpm_core.testing.monitor_contract import EXPERIMENT_ID, JOBS

pytestmark = pytest.mark.usefixtures("chromium_available")

SHOTS = os.environ.get("XPM_WEB_SCREENSHOTS")


def shoot(browser, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SHOTS) / f"web-{name}.png"))


def rows(browser) -> list[dict]:
    """The jobs table as shown: task, state, lr tag, job id (prefix) of every row."""
    return browser.execute_script("""
        const table = document.getElementById('jobs');
        if (!table || !table.tHead.rows.length) return [];
        const heads = [...table.tHead.rows[0].cells].map((c) => c.textContent.replace(/[▲▼]/g, '').trim());
        return [...table.tBodies[0].rows].filter((r) => r.dataset.job).map((r) => {
            const cell = (name) => r.cells[heads.indexOf(name)];
            return {task: cell('task').textContent, state: cell('state').textContent,
                    lr: heads.includes('lr') ? cell('lr').textContent : '', job: r.dataset.job};
        });""")


def until(browser, condition, what: str, timeout: float = 30.0):
    """Wait for ``condition()``; an element replaced by a live update meanwhile is looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException,)).until(lambda _: condition(), message=what)


def click(browser, selector: str) -> None:
    """Click the element ``selector`` finds, looking it up again if a live update replaced it."""
    from selenium.webdriver.common.by import By

    def clicked() -> bool:
        browser.find_element(By.CSS_SELECTOR, selector).click()
        return True

    until(browser, clicked, f"a click on {selector}")


def by_task(shown: list[dict], task: str, lr: str = "") -> dict:
    matches = [row for row in shown if row["task"] == task and (not lr or row["lr"] == lr)]
    assert len(matches) == 1, (task, lr, shown)
    return matches[0]


def test_follow_filter_watch_and_kill_a_real_experiment(browser, scenario, wait):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    step_logs = scenario.workspace / "jobs"
    wait(lambda: len([p for p in step_logs.glob("*/*/step.err") if "line 2" in p.read_text()]) == 2,
         "both Step jobs running")
    wait(lambda: any(step_logs.glob("*/*/sleeper.err")) and any(step_logs.glob("*/*/fail.failed")),
         "the sleeper running and the failing job failed")
    url = scenario.start_monitor(_port())

    # Open the printed URL: the token becomes a cookie, the run's jobs are listed.
    browser.get(url)
    until(browser, lambda: len(rows(browser)) == 6, "six jobs listed")
    assert "token=" not in browser.current_url and "/experiments/web-xp/runs/" in browser.current_url
    run_url = browser.current_url
    shown = rows(browser)
    assert by_task(shown, "step", '0.1')["state"] == "running"
    assert by_task(shown, "evaluate")["state"] in ("waiting", "ready")
    until(browser, lambda: by_task(rows(browser), "fail")["state"] == "error", "the failed job shown as error")
    shoot(browser, "run")

    # Type a filter: the URL keeps it (bookmarkable), the table shows the matching job only.
    field = browser.find_element(By.ID, "filter")
    field.clear()
    field.send_keys("lr = 0.01", Keys.ENTER)
    until(browser, lambda: "filter=lr" in browser.current_url and len(rows(browser)) == 1, "the filtered table")
    assert rows(browser)[0]["lr"] == "0.01"
    field = browser.find_element(By.ID, "filter")
    field.clear()
    field.send_keys('@state = "done" and', Keys.ENTER)
    until(browser, lambda: (error := browser.find_element(By.ID, "filter-error")).is_displayed()
          and "column" in error.text, "the filter error in place")
    assert "^" in browser.find_element(By.ID, "filter-error").text
    shoot(browser, "filter-error")

    # A job that ends changes state on the open page, without reloading it.
    browser.get(run_url)
    until(browser, lambda: len(rows(browser)) == 6, "six jobs listed again")
    browser.execute_script("window.__notReloaded = true;")
    scenario.release("a")
    # (How fast: benchmarks/web_bench.py measures the time from a job's end to the page.)
    until(browser, lambda: by_task(rows(browser), "step", "0.1")["state"] == "done", "Step a done, live")
    until(browser, lambda: by_task(rows(browser), "evaluate")["state"] == "done", "Evaluate done, live")
    assert browser.execute_script("return window.__notReloaded === true;")

    # The progress a running task reports is shown beside its state, and on its page.
    until(browser, lambda: by_task(rows(browser), "chatty")["state"] == "running 50% lines", "the chatty progress")
    # Follow a growing log on the job's page.
    chatty = by_task(rows(browser), "chatty")
    click(browser, f'tr[data-job="{chatty["job"]}"] td a')
    until(browser, lambda: browser.find_element(By.ID, "log"), "the log box")
    until(browser, lambda: browser.find_element(By.ID, "job-progress").text == "50% lines", "the progress on the page")

    def last_line() -> int:
        lines = [line for line in browser.find_element(By.ID, "log").text.splitlines()
                 if line.startswith("chatty line ")]
        return int(lines[-1].split()[-1]) if lines else -1

    until(browser, lambda: last_line() >= 0, "the log shown")
    first = last_line()
    until(browser, lambda: last_line() >= first + 5, "new log lines appended live")
    assert browser.execute_script(
        "const l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight < 30;")
    shoot(browser, "job")

    # Kill a running job from its page: confirm, then see it killed.
    browser.get(run_url)
    until(browser, lambda: len(rows(browser)) == 6, "the run page")
    sleeper = by_task(rows(browser), "sleeper")
    assert sleeper["state"] == "running"
    click(browser, f'tr[data-job="{sleeper["job"]}"] td a')
    until(browser, lambda: browser.find_element(By.ID, "job-state").text == "running", "the sleeper's page")
    click(browser, "#kill-job")
    alert = until(browser, lambda: _alert(browser), "the confirmation")
    assert "would kill" in alert.text
    alert.accept()
    until(browser, lambda: "killed" in browser.find_element(By.ID, "flash").text, "the kill reported")
    until(browser, lambda: browser.find_element(By.ID, "job-state").text == "error", "the job shown killed")

    # The other pages of the run render its jobs.
    browser.get(run_url + "/graph")
    until(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#graph svg a")) == 6, "the graph")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#graph path.edge")) == 1  # Evaluate needs Step a
    shoot(browser, "graph")
    browser.get(run_url + "/timeline")
    until(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#timeline rect.bar")) >= 6, "the timeline")
    shoot(browser, "timeline")
    browser.get(url.split("/?")[0] + "/?all=1")
    until(browser, lambda: "web-xp" in browser.find_element(By.ID, "experiments").text, "the workspace page")
    shoot(browser, "workspace")


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alert(browser):
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return browser.switch_to.alert
    except NoAlertPresentException:
        return None


@pytest.fixture
def served(fake_workspace):
    from xpm_web.monitor import WebMonitor

    monitor = WebMonitor(fake_workspace, experiment_id=EXPERIMENT_ID, port=0, stream=io.StringIO())
    monitor.start()
    yield monitor
    monitor.close()


def test_without_the_token_nothing_is_shown(browser, served):
    browser.get(served.base_url + "/")
    assert "needs the token" in browser.page_source
    browser.get(served.base_url + "/api/experiments")
    assert EXPERIMENT_ID not in browser.page_source
    browser.get(served.url.replace("?token=", "?token=x"))
    assert "wrong token" in browser.page_source


def test_a_path_traversal_is_refused(browser, served):
    done, task, _ = JOBS[0]
    browser.get(served.url)
    base = f"{served.base_url}/jobs/{task}/{done}/files"
    browser.get(f"{base}/Train.done")
    assert "refused" not in browser.page_source
    for attempt in ("..%2f..%2f..%2fsecret.txt", "%2e%2e/%2e%2e/%2e%2e/secret.txt", "escape.txt"):
        browser.get(f"{base}/{attempt}")
        text = browser.find_element("tag name", "body").text
        assert "secret" not in text.replace("secret.txt", "") and ("refused" in text or "Not Found" in text), text


def test_a_cross_site_post_is_refused(browser, served, tmp_path):
    running, task, _ = JOBS[2]
    (tmp_path / "evil.html").write_text(
        f'<form id="f" method="post" enctype="text/plain" action="{served.base_url}/api/actions/kill">'
        f'<input name=\'{{"jobs": ["{task}/{running}"], "perform": true, "x": "\' value=\'"}}\'></form>'
        '<script>document.getElementById("f").submit()</script>')
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path))  # noqa: E731
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        browser.get(served.url)  # the user is logged in: the cookie is set
        browser.get(f"http://127.0.0.1:{evil.server_address[1]}/evil.html")
        until(browser, lambda: "/api/actions/kill" in browser.current_url, "the forged form posted")
        assert "cross-site request refused" in browser.page_source
    finally:
        evil.shutdown()


def test_an_unknown_run_is_said_in_place(browser, served):
    from selenium.webdriver.common.by import By

    browser.get(served.url)
    browser.get(f"{served.base_url}/experiments/{EXPERIMENT_ID}/runs/19990101_000000")
    flash = browser.find_element(By.ID, "flash")
    until(browser, lambda: "has no run 19990101_000000" in flash.text, "the unknown run reported")
