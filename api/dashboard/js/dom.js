// A tiny element builder: views are rebuilt from data, never from HTML strings (no injection).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// A card's button; tests and the eye find it by its action.
export function button(action, label, onclick, cls = "btn") {
  return h("button", { class: cls, type: "button", "data-action": action, onclick }, label);
}
