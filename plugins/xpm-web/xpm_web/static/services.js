// xpm web monitor: the start and stop buttons of a run's services page (POST with the CSRF header).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { experiment, run } = document.body.dataset;
  const csrf = document.querySelector('meta[name="xpm-csrf"]').content;
  const flashBox = document.getElementById("flash");
  function say(message, kind) {
    flashBox.textContent = message;
    flashBox.className = kind;
    flashBox.hidden = false;
  }
  // A service's state lives in the run's files (not in the index the event stream follows):
  // read the list every few seconds and redraw the page when a state or an address changed.
  const shown = JSON.stringify([...document.querySelectorAll("tr[data-service]")].map((row) => [row.dataset.service, row.dataset.state]));
  setInterval(async () => {
    const response = await fetch(`/api/experiments/${encodeURIComponent(experiment)}/runs/${encodeURIComponent(run)}/services`,
      { credentials: "same-origin", headers: { Accept: "application/json" } }).catch(() => null);
    if (!response || !response.ok) return;
    const { services } = await response.json();
    if (JSON.stringify(services.map((service) => [service.id, service.state])) !== shown) location.reload();
  }, 3000);
  for (const button of document.querySelectorAll("button.service-action")) {
    button.addEventListener("click", async () => {
      const service = button.closest("tr").dataset.service;
      const action = button.dataset.action;
      if (action === "stop" && !window.confirm(`Stop the service ${service}?`)) return;
      button.disabled = true;
      say(`${action === "start" ? "starting" : "stopping"} ${service}…`, "info");
      const response = await fetch(`/api/services/${action}`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-XPM-CSRF": csrf },
        body: JSON.stringify({ experiment, run, service }),
      });
      const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
      if (!response.ok) { say(`${service}: ${body.error}`, "error"); button.disabled = false; return; }
      location.reload();
    });
  }
});
