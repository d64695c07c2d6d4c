"""The JSON API, the pages and the security rules, through flask's test client over a fake workspace."""

from __future__ import annotations

from pathlib import Path

from xpm_core.testing.monitor_contract import EXPERIMENT_ID, JOBS, RUN_ID
from xpm_web.access import CSRF_HEADER, csrf_token

(DONE, DONE_TASK, _), (FAILED, FAILED_TASK, _), (RUNNING, RUNNING_TASK, _) = JOBS
TOKEN = "test-token-0123456789"  # the token of conftest.py's app


def test_experiments_and_runs(client):
    experiments = client.get("/api/experiments").get_json()["experiments"]
    assert [xp["experiment_id"] for xp in experiments] == [EXPERIMENT_ID]
    assert experiments[0]["latest"]["job_counts"] == {"done": 1, "error": 1, "running": 1}
    runs = client.get(f"/api/experiments/{EXPERIMENT_ID}/runs").get_json()["runs"]
    assert [run["run_id"] for run in runs] == [RUN_ID]


def test_jobs_filter_sort_and_page(client):
    page = client.get(f"/api/jobs?experiment={EXPERIMENT_ID}&run=latest").get_json()
    assert page["total"] == 3 and page["tag_names"] == ["lr"]
    assert {job["job_id"]: job["state"] for job in page["jobs"]} == {DONE: "done", FAILED: "error", RUNNING: "running"}
    tagged = client.get(f"/api/jobs?experiment={EXPERIMENT_ID}&filter=lr = 0.01").get_json()
    assert [job["job_id"] for job in tagged["jobs"]] == [FAILED]
    by_lr = client.get(f"/api/jobs?experiment={EXPERIMENT_ID}&sort=tag:lr&order=asc").get_json()
    assert [job["job_id"] for job in by_lr["jobs"]] == [RUNNING, FAILED, DONE]  # no tag first, then 0.01, 0.1
    second = client.get(f"/api/jobs?experiment={EXPERIMENT_ID}&sort=tag:lr&order=asc&offset=1&limit=1").get_json()
    assert [job["job_id"] for job in second["jobs"]] == [FAILED] and second["total"] == 3


def test_a_filter_syntax_error_says_where(client):
    response = client.get(f"/api/jobs?experiment={EXPERIMENT_ID}&filter=@state = ")
    assert response.status_code == 400
    body = response.get_json()
    assert body["column"] == 10 and "column 10" in body["error"]  # after "=", where a value was expected


def test_bad_arguments_are_400_and_unknown_things_404(client):
    assert client.get("/api/jobs?limit=many").status_code == 400
    assert client.get("/api/jobs?order=up").status_code == 400
    assert client.get("/api/jobs?sort=colour").status_code == 400
    assert client.get("/api/experiments/nope/runs").status_code == 404
    assert client.get("/api/jobs/contract.Train/ffff").status_code == 404
    assert "no experiment" in client.get("/experiments/nope/runs/x").get_data(as_text=True)


def test_one_job_in_detail(client):
    detail = client.get(f"/api/jobs/{FAILED_TASK}/{FAILED}").get_json()
    assert detail["job"]["state"] == "error"
    assert detail["failure"]["reason"] == "failed"
    assert detail["parameters"]["values"] == {"lr": 0.01, "model": {"size": 3}}
    # a unique prefix names the job too, as on the command line
    assert client.get(f"/api/jobs/{FAILED_TASK}/{FAILED[:10]}").get_json()["job"]["job_id"] == FAILED


def test_log_chunks_by_byte_offset(client):
    base = f"/api/jobs/{RUNNING_TASK}/{RUNNING}/log/stderr"
    first = client.get(f"{base}?offset=0&size=100").get_json()
    assert first["exists"] and first["offset"] == 0 and first["text"].startswith("line 0 é\n")
    assert first["next_offset"] <= 100 and first["size"] > 10_000
    following = client.get(f"{base}?offset={first['next_offset']}&size=100").get_json()
    assert (first["text"] + following["text"]).startswith("line 0 é\nline 1 é\n")
    tail = client.get(f"{base}?offset=-20").get_json()
    assert tail["text"].endswith("line 999 é\n") and tail["next_offset"] == tail["size"]
    assert client.get(f"/api/jobs/{RUNNING_TASK}/{RUNNING}/log/stdout").get_json()["text"] == f"stdout of {RUNNING[:6]}\n"
    assert client.get(f"/api/jobs/{RUNNING_TASK}/{RUNNING}/log/passwd").status_code == 400


def test_pages_render(client):
    home = client.get("/")
    assert home.status_code == 200 and 'data-page="workspace"' in home.get_data(as_text=True)
    run = client.get(f"/experiments/{EXPERIMENT_ID}")
    assert run.status_code == 302 and run.headers["Location"].endswith(f"/experiments/{EXPERIMENT_ID}/runs/{RUN_ID}")
    assert 'data-page="run"' in client.get(run.headers["Location"]).get_data(as_text=True)
    job = client.get(f"/jobs/{FAILED_TASK}/{FAILED}").get_data(as_text=True)
    assert "failed" in job and "<b>lr</b>: <code>0.01</code>" in job and str(FAILED) in job
    assert client.get(f"/jobs/_/{FAILED}").headers["Location"].endswith(f"/jobs/{FAILED_TASK}/{FAILED}")
    compare = client.get(f"/compare?job={DONE_TASK}/{DONE}&job={FAILED_TASK}/{FAILED}").get_data(as_text=True)
    assert "parameters.values.lr" in compare and "tags.lr" in compare
    assert "parameters.values.model.size" not in compare  # equal in both: hidden unless all=1
    assert "parameters.values.model.size" in client.get(
        f"/compare?job={DONE_TASK}/{DONE}&job={FAILED_TASK}/{FAILED}&all=1").get_data(as_text=True)
    for page in ("graph", "timeline"):
        assert client.get(f"/experiments/{EXPERIMENT_ID}/runs/{RUN_ID}/{page}").status_code == 200


def test_download_a_log(client):
    response = client.get(f"/jobs/{DONE_TASK}/{DONE}/files/Train.out?download=1")
    assert response.status_code == 200 and response.get_data(as_text=True) == f"stdout of {DONE[:6]}\n"
    assert "attachment" in response.headers["Content-Disposition"]


# ---- security ------------------------------------------------------------------------------------


def test_every_route_needs_the_token(app):
    anonymous = app.test_client()
    for path in ("/", f"/experiments/{EXPERIMENT_ID}/runs/{RUN_ID}", "/api/experiments", "/api/events",
                 f"/api/jobs/{DONE_TASK}/{DONE}/log/stderr", f"/jobs/{DONE_TASK}/{DONE}/files/Train.out"):
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.get("/api/experiments", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert anonymous.get("/?token=wrong").status_code == 401
    assert anonymous.post("/api/actions/kill", json={"jobs": [f"{RUNNING_TASK}/{RUNNING}"]}).status_code == 401
    assert anonymous.get("/static/xpm.js").status_code == 200  # the package's own script, nothing secret


def test_the_url_token_becomes_a_strict_http_only_cookie(app):
    browser = app.test_client()
    response = browser.get(f"/experiments/{EXPERIMENT_ID}?token={TOKEN}")
    assert response.status_code == 303 and response.headers["Location"] == f"/experiments/{EXPERIMENT_ID}"
    cookie = response.headers["Set-Cookie"]
    assert f"xpm_web_token={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert browser.get("/api/experiments").status_code == 200
    assert app.test_client().get("/api/experiments", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_security_headers(client):
    headers = client.get("/").headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert headers["Referrer-Policy"] == "no-referrer" and headers["X-Frame-Options"] == "DENY"


def test_no_asset_comes_from_elsewhere(client):
    package = Path(__file__).parents[1] / "xpm_web"
    for path in [*package.glob("templates/*.html"), *package.glob("static/*")]:
        text = path.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, path


def test_path_traversal_is_refused(client, fake_workspace):
    base = f"/jobs/{DONE_TASK}/{DONE}/files"
    for attempt in ("../../../../secret.txt", "..%2f..%2fsecret.txt", "%2e%2e/%2e%2e/secret.txt",
                    "escape.txt", "%252e%252e/secret.txt", "./Train.out", "a//b"):
        response = client.get(f"{base}/{attempt}")
        assert response.status_code in (400, 404), (attempt, response.status_code)
        assert b"secret" not in response.data.replace(b"secret.txt", b""), attempt
    assert client.get(f"{base}//etc/passwd", follow_redirects=True).status_code in (400, 404)
    assert client.get(f"{base}/Train.done").status_code == 200  # a plain file of the folder is served


def test_actions_need_post_and_the_csrf_header(client):
    running = f"{RUNNING_TASK}/{RUNNING}"
    assert client.get("/api/actions/kill").status_code == 405
    no_csrf = client.post("/api/actions/kill", json={"jobs": [running]})
    assert no_csrf.status_code == 403 and CSRF_HEADER in no_csrf.get_json()["error"]
    cross_site = client.post("/api/actions/kill", json={"jobs": [running]},
                             headers={CSRF_HEADER: csrf_token(TOKEN), "Origin": "http://evil.example"})
    assert cross_site.status_code == 403
    fetch_metadata = client.post("/api/actions/kill", json={"jobs": [running]},
                                 headers={CSRF_HEADER: csrf_token(TOKEN), "Sec-Fetch-Site": "cross-site"})
    assert fetch_metadata.status_code == 403


def _post(client, path, body):
    return client.post(path, json=body, headers={CSRF_HEADER: csrf_token(TOKEN), "Origin": "http://localhost"})


def test_clean_refuses_unfinished_jobs_and_deletes_finished_ones(client, fake_workspace, caplog):
    running, done = f"{RUNNING_TASK}/{RUNNING}", f"{DONE_TASK}/{DONE}"
    refused = _post(client, "/api/actions/clean", {"jobs": [running], "perform": True}).get_json()
    assert [o["status"] for o in refused["outcomes"]] == ["not_finished"]
    assert "not finished" in refused["outcomes"][0]["message"]
    preview = _post(client, "/api/actions/clean", {"jobs": [done]}).get_json()
    assert [o["status"] for o in preview["outcomes"]] == ["would_delete"]
    assert (fake_workspace / "jobs" / DONE_TASK / DONE).exists()
    with caplog.at_level("INFO", logger="xpm.web"):
        deleted = _post(client, "/api/actions/clean", {"jobs": [done], "perform": True}).get_json()
    assert [o["status"] for o in deleted["outcomes"]] == ["deleted"]
    assert not (fake_workspace / "jobs" / DONE_TASK / DONE).exists()
    assert any("web clean" in record.message and DONE in record.message for record in caplog.records)
    assert client.get(f"/api/jobs/{DONE_TASK}/{DONE}").status_code == 404


def test_kill_of_a_job_never_started_says_so(client):
    outcome = _post(client, "/api/actions/kill", {"jobs": [f"{RUNNING_TASK}/{RUNNING}"], "perform": True}).get_json()
    # The fake job has no pid file: nothing runs, as `xpm jobs kill` reports it.
    assert [o["status"] for o in outcome["outcomes"]] == ["not_started"]
    run = _post(client, "/api/actions/kill-run", {"experiment": EXPERIMENT_ID, "run": RUN_ID}).get_json()
    assert [o["job_id"] for o in run["outcomes"]] == [RUNNING]
    assert _post(client, "/api/actions/kill", {"jobs": []}).status_code == 400
    assert _post(client, "/api/actions/kill", {"jobs": ["x/y"], "perform": "yes"}).status_code == 400


def test_the_event_stream_reports_changes(app, fake_workspace):
    from xpm_core.testing.monitor_contract import FakeExperiment

    client = app.test_client()
    client.set_cookie("xpm_web_token", TOKEN)
    response = client.get("/api/events", buffered=False)
    assert response.mimetype == "text/event-stream"
    chunks = iter(response.response)
    assert b"event: hello" in next(chunks)
    fake = FakeExperiment(fake_workspace)
    fake.index.record_run_finished(EXPERIMENT_ID, RUN_ID, "done", 0.0)  # an index write
    fake.close()
    assert b"event: change" in next(chunks)
    response.close()


def test_a_running_job_shows_the_progress_it_reports(client, fake_workspace):
    # what a task's progress(...) calls leave in its folder (docs/running.md)
    status = fake_workspace / "jobs" / RUNNING_TASK / RUNNING / ".experimaestro"
    status.mkdir(parents=True, exist_ok=True)
    (status / "progress.json").write_text(
        '{"levels": [{"level": 0, "value": 0.42, "desc": "epochs"}, {"level": 1, "value": 0.5, "desc": null}]}')
    page = client.get(f"/api/jobs?experiment={EXPERIMENT_ID}&run=latest").get_json()
    progress = {job["job_id"]: job["progress"] for job in page["jobs"]}
    assert progress == {DONE: [], FAILED: [],
                        RUNNING: [{"level": 0, "value": 0.42, "desc": "epochs"}, {"level": 1, "value": 0.5, "desc": None}]}
    assert client.get(f"/api/jobs/{RUNNING_TASK}/{RUNNING}").get_json()["job"]["progress"] == progress[RUNNING]
    assert "42% epochs › 50%" in client.get(f"/jobs/{RUNNING_TASK}/{RUNNING}").get_data(as_text=True)
