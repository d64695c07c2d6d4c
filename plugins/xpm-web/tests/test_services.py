"""A run's services in the web monitor: the JSON API and the page, with a real file server
(``python -m http.server``) registered by a real plan, started and stopped through the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from xpm_core.testing import free_port, served_workspace, url_answers
from xpm_web.access import CSRF_HEADER, csrf_token

TOKEN = "test-token-0123456789"
@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, int]:
    """A workspace whose run ``served`` registered the service ``files``; and its port."""
    return served_workspace(tmp_path)


@pytest.fixture
def client(served: tuple[Path, int]) -> Iterator[Any]:
    from xpm_web.app import create_app

    app = create_app(served[0], token=TOKEN)
    test_client = app.test_client()
    test_client.set_cookie("xpm_web_token", TOKEN)
    yield test_client
    state = app.extensions["xpm_web"]
    state.changes.close()
    state.source.close()


def test_a_runs_services_are_listed_started_and_stopped(client: Any, served: tuple[Path, int]) -> None:
    _workspace, port = served
    url = f"http://127.0.0.1:{port}/"
    (service,) = client.get("/api/experiments/served/runs/latest/services").get_json()["services"]
    assert {key: service[key] for key in ("id", "state", "url", "description")} == {
        "id": "files", "state": "STOPPED", "url": None, "description": "the run's files"}

    target = {"experiment": "served", "run": "latest", "service": "files"}
    refused = client.post("/api/services/start", json=target)  # no CSRF header: not from the page
    assert refused.status_code == 403 and not url_answers(url)

    headers = {CSRF_HEADER: csrf_token(TOKEN)}
    started = client.post("/api/services/start", json=target, headers=headers)
    assert started.status_code == 200, started.get_json()
    try:
        assert started.get_json()["service"]["state"] == "RUNNING" and url_answers(url + "page.txt")
        (listed,) = client.get("/api/experiments/served/runs/latest/services").get_json()["services"]
        assert listed["state"] == "RUNNING" and listed["url"] == url
        page = client.get("/experiments/served/runs/latest/services").get_data(as_text=True)
        assert f'href="{url}"' in page and 'data-action="stop"' in page
    finally:
        stopped = client.post("/api/services/stop", json=target, headers=headers)
    assert stopped.status_code == 200 and stopped.get_json()["service"]["state"] == "STOPPED"
    assert not url_answers(url)


def test_the_run_page_links_its_services_and_errors_are_404(client: Any) -> None:
    run_id = client.get("/api/experiments/served/runs").get_json()["runs"][0]["run_id"]
    run_page = client.get(f"/experiments/served/runs/{run_id}").get_data(as_text=True)
    assert f'href="/experiments/served/runs/{run_id}/services"' in run_page
    page = client.get(f"/experiments/served/runs/{run_id}/services")
    assert page.status_code == 200 and 'data-service="files"' in page.get_data(as_text=True)
    assert 'data-action="start"' in page.get_data(as_text=True)
    headers = {CSRF_HEADER: csrf_token(TOKEN)}
    unknown = client.post("/api/services/start", json={"experiment": "served", "service": "nope"}, headers=headers)
    assert unknown.status_code == 404 and "no service 'nope'" in unknown.get_json()["error"]
    assert client.get("/api/experiments/absent/runs/latest/services").status_code == 404
    assert client.get("/api/experiments/served/runs/19990101_000000/services").status_code == 404
    assert client.get("/experiments/absent/runs/latest/services").status_code == 404


def test_a_service_is_started_and_stopped_from_its_page_in_chromium(served: tuple[Path, int], chromium_available: None,
                                                                     browser: Any) -> None:
    """The page's buttons in a real browser (the CSP allows only the package's scripts)."""
    import os
    import re

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    workspace, port = served
    service_url = f"http://127.0.0.1:{port}/"
    xpm = Path(sys.executable).with_name("xpm")
    monitor = subprocess.Popen([str(xpm), "experiments", "monitor", "served", "--workdir", str(workspace), "--port",
                                str(free_port())], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ))
    try:
        assert monitor.stderr is not None
        line = monitor.stderr.readline()
        match = re.search(r"open (http://\S+)", line)
        assert match, f"the monitor printed {line!r}"

        def until(condition: Any, what: str) -> None:
            WebDriverWait(browser, 30, poll_frequency=0.05).until(lambda _: condition(), message=what)

        def state() -> Any:
            # Read in one script: the page reloads after each action (an element found before is stale).
            return browser.execute_script(
                "const row = document.querySelector('tr[data-service=\"files\"]');"
                "return row ? [row.dataset.state, (row.querySelector('a') || {}).href || null] : [null, null];")[0]

        browser.get(match.group(1))  # the run's page
        until(lambda: browser.find_elements(By.ID, "services-link"), "the run page")
        browser.find_element(By.ID, "services-link").click()
        until(lambda: browser.find_elements(By.CSS_SELECTOR, 'tr[data-service="files"]'), "the services page")
        assert state() == "STOPPED"
        browser.find_element(By.CSS_SELECTOR, 'button[data-action="start"]').click()
        until(lambda: state() == "RUNNING", "the service running")
        link = browser.execute_script("return document.querySelector('tr[data-service=\"files\"] a').href")
        assert link == service_url and url_answers(service_url)
        browser.find_element(By.CSS_SELECTOR, 'button[data-action="stop"]').click()
        WebDriverWait(browser, 10).until(lambda driver: driver.switch_to.alert).accept()  # "Stop the service files?"
        until(lambda: state() == "STOPPED", "the service stopped")
        assert not url_answers(service_url)
    finally:
        monitor.terminate()
        monitor.wait(15)
