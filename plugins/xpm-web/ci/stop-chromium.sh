#!/usr/bin/env bash
# Nothing runs between tests: start-chromium.sh only installs packages, which stay installed.
# Kept so that every plugin's service has its stop script; it removes the tests' leftover
# browser profiles (/tmp/xpm-web-chromium-*), if a killed test run left any.
set -euo pipefail
rm -rf /tmp/xpm-web-chromium-*
echo "[stop-chromium] nothing running; leftover profiles removed"
