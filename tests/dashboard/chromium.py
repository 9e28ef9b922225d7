"""The system's Chromium, which the browser tests drive with Playwright.

Without it they are skipped on a developer machine; CI sets FIREWATCH_REQUIRE_BROWSER=1 (after
installing it), so there a missing browser fails instead of passing silently."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("FIREWATCH_REQUIRE_BROWSER"),
    reason="no system Chromium: apt-get install -y chromium (Playwright's own download needs a "
    "CDN we do not use)",
)
