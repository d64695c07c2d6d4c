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
