"""What the layout tests share: the console's catalogues as Python reads them, the in-page check
that no text is clipped or spills out of its box, and where screenshots go."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from api.routers.dashboard import DASHBOARD_DIR

LANGUAGES = ("zh-CN", "en")
# Run before the page's scripts: the console in English, for tests that read its English words
# (about:blank, where tests end, has no storage).
IN_ENGLISH = "if (location.origin !== 'null') localStorage.setItem('firewatch.lang', 'en')"


def catalogue(lang: str) -> dict[str, Any]:
    """A catalogue module's object: JSON between its first and last brace."""
    text = (DASHBOARD_DIR / "js" / "i18n" / f"{lang}.js").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text[text.index("{") : text.rindex("}") + 1])
    return loaded


def artifacts_dir() -> Path:
    """$FIREWATCH_ARTIFACTS, else /tmp/firewatch-artifacts; CI keeps it as the tests' artifacts."""
    path = Path(os.environ.get("FIREWATCH_ARTIFACTS", "/tmp/firewatch-artifacts")) / "console"
    path.mkdir(parents=True, exist_ok=True)
    return path


# Every visible text on the page: its lines must lie inside its own element's box, inside every
# ancestor that hides overflow, and inside the window, unless a scrolling ancestor holds it (a
# list that scrolls is fine; a list cut off is not). Nor may the page itself scroll: the console
# is one screen. Returns one line per problem, naming the element and its text.
OVERFLOW_JS = """
() => {
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : "")
    + (el.classList.length ? `.${[...el.classList].join(".")}` : "");
  const outside = (r, box) => r.left < box.left - 1 || r.right > box.right + 1
    || r.top < box.top - 1 || r.bottom > box.bottom + 1;
  const view = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
  const range = document.createRange();
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("[hidden], dialog:not([open]), select, option, script, style")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || !el.getClientRects().length) continue;
    if (["hidden", "clip"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} cuts its content: ${el.textContent.trim().slice(0, 60)}`);
    }
    for (const node of el.childNodes) {
      if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
      range.selectNodeContents(node);
      const text = node.textContent.trim().slice(0, 60);
      const box = el.getBoundingClientRect();
      for (const r of range.getClientRects()) {
        if (!r.width) continue;
        if (outside(r, box)) problems.push(`${name(el)} overflows its box: ${text}`);
        let reachable = false;
        for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
          const s = getComputedStyle(a);
          const clips = [s.overflowX, s.overflowY].some((o) => o !== "visible");
          if (!clips || !outside(r, a.getBoundingClientRect())) continue;
          if ([s.overflowX, s.overflowY].some((o) => o === "auto" || o === "scroll")) {
            reachable = true;
            break;
          }
          problems.push(`${name(el)} clipped by ${name(a)}: ${text}`);
        }
        if (!reachable && getComputedStyle(el).position !== "fixed" && outside(r, view)) {
          problems.push(`${name(el)} outside the window: ${text}`);
        }
      }
    }
  }
  const page = document.scrollingElement;
  if (page.scrollWidth > innerWidth + 1) problems.push(`page scrolls across: ${page.scrollWidth}`);
  if (page.scrollHeight > innerHeight + 1) problems.push(`page scrolls down: ${page.scrollHeight}`);
  return [...new Set(problems)];
}
"""
