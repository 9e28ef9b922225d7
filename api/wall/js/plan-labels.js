// Names over the plan for the buildings with an open incident, in the class colour and large
// enough to read across the room (the plan's own labels are for a console at arm's length).
// Inside the plan's box and apart from each other: never cut off, never one over another.

import { cssColor, fitCanvas } from "/static/js/canvas.js";
import { h } from "/static/js/dom.js";
import { waiting } from "/static/js/state.js";
import { byUrgency, placeOf } from "./tiles.js";

const MOST = 6; // more names than this cover the plan they point at

export function renderPlanLabels(box, leaders, plan, incidentAt, names) {
  const incidents = [...incidentAt.values()].sort(byUrgency);
  const onPlan = incidents
    .map((incident) => ({ incident, b: plan.buildings.find((x) => x.id === incident.building) }))
    .filter(({ b }) => b && plan.origin);
  const located = onPlan.slice(0, MOST);
  box.replaceChildren(...located.map(({ incident }) => h("span", {
    class: `plan-label ${incident.class}${waiting(incident) ? " waiting" : ""}`,
    dataset: { building: incident.building },
  }, placeOf(incident, names))));
  const width = box.clientWidth;
  const height = box.clientHeight;
  const { ctx } = fitCanvas(leaders);
  ctx.lineWidth = 0.1 * parseFloat(getComputedStyle(document.documentElement).fontSize);
  ctx.strokeStyle = cssColor("text");
  // What a label must not cover: the other labels, and every building with an open incident.
  const taken = onPlan.map(({ b }) => {
    const [x, y] = plan.toScreen(b.lat, b.lon);
    const r = 0.5 * (box.children[0]?.offsetHeight ?? 0);
    return { left: x - r, top: y - r, right: x + r, bottom: y + r };
  });
  const free = (r) => r.left >= 0 && r.top >= 0 && r.right <= width && r.bottom <= height
    && !taken.some((p) => r.left < p.right && p.left < r.right && r.top < p.bottom && p.top < r.bottom);
  located.forEach(({ b }, i) => {
    const label = box.children[i];
    const [x, y] = plan.toScreen(b.lat, b.lon);
    const w = label.offsetWidth;
    const lh = label.offsetHeight;
    // Above the building, else below, right, left, then the corners: the first free place. A
    // label with none is left out (its tile names it; the plan still rings the building).
    const spot = [
      [-w / 2, -1.6 * lh], [-w / 2, 0.6 * lh], [0.8 * lh, -lh / 2], [-0.8 * lh - w, -lh / 2],
      [0.6 * lh, -1.6 * lh], [-0.6 * lh - w, -1.6 * lh], [0.6 * lh, 0.6 * lh], [-0.6 * lh - w, 0.6 * lh],
    ]
      .map(([dx, dy]) => ({ left: x + dx, top: y + dy, right: x + dx + w, bottom: y + dy + lh }))
      .find(free);
    if (!spot) {
      label.hidden = true;
      return;
    }
    taken.push(spot);
    // A line from the label to its building: near buildings, which name is whose.
    ctx.beginPath();
    ctx.moveTo(Math.min(Math.max(x, spot.left), spot.right), Math.min(Math.max(y, spot.top), spot.bottom));
    ctx.lineTo(x, y);
    ctx.stroke();
    label.style.transform = `translate(${Math.round(spot.left)}px, ${Math.round(spot.top)}px)`;
  });
}
