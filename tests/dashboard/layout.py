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


# Every visible text on the page: its lines must lie inside its own element's box and every
# ancestor's, and inside the window, unless a list that scrolls up and down holds them (a list
# that scrolls is fine; one cut off is not). Nothing may scroll sideways, nor the page at all:
# the console is one screen. Returns one line per problem, naming the element and its text.
OVERFLOW_JS = """
() => {
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : "")
    + (el.classList.length ? `.${[...el.classList].join(".")}` : "");
  const across = (r, box) => r.left < box.left - 1 || r.right > box.right + 1;
  const down = (r, box) => r.top < box.top - 1 || r.bottom > box.bottom + 1;
  const scrolls = (s) => s.overflowY === "auto" || s.overflowY === "scroll";
  const view = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
  const range = document.createRange();
  const skip = "[hidden], dialog:not([open]), select, option, script, style, input, textarea";
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest(skip)) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || !el.getClientRects().length) continue;
    if (style.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)} cuts or scrolls sideways: ${el.textContent.trim().slice(0, 60)}`);
    }
    for (const node of el.childNodes) {
      if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
      range.selectNodeContents(node);
      const text = node.textContent.trim().slice(0, 60);
      for (const r of range.getClientRects()) {
        if (!r.width) continue;
        let held = false;
        for (let a = el; a && a !== document.documentElement; a = a.parentElement) {
          const s = getComputedStyle(a);
          if (s.display === "contents") continue;
          const box = a.getBoundingClientRect();
          if (across(r, box) || (down(r, box) && !(a !== el && scrolls(s)))) {
            problems.push(`${name(el)} spills out of ${a === el ? "its box" : name(a)}: ${text}`);
            break;
          }
          if (a !== el && scrolls(s) && down(r, box)) {
            held = true;  // scrolled out of view in a list that scrolls
            break;
          }
        }
        if (!held && (across(r, view) || down(r, view))) {
          problems.push(`${name(el)} outside the window: ${text}`);
        }
      }
    }
  }
  // A placeholder is text too: it must fit its field.
  const measure = document.createElement("canvas").getContext("2d");
  for (const field of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (field.closest("[hidden], dialog:not([open])") || !field.getClientRects().length) continue;
    const s = getComputedStyle(field);
    measure.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = field.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    if (!field.value && measure.measureText(field.placeholder).width > room + 1) {
      problems.push(`${name(field)} cuts its placeholder: ${field.placeholder}`);
    }
  }
  const page = document.scrollingElement;
  if (page.scrollWidth > innerWidth + 1) problems.push(`page scrolls across: ${page.scrollWidth}`);
  if (page.scrollHeight > innerHeight + 1) problems.push(`page scrolls down: ${page.scrollHeight}`);
  return [...new Set(problems)];
}
"""
