// Names over the plan for the buildings with an open incident, in the class colour and large
// enough to read across the room (the plan's own labels are for a console at arm's length).
// Kept inside the plan's box: a label is moved in, never cut off.

import { h } from "/static/js/dom.js";
import { waiting } from "/static/js/state.js";
import { byUrgency, placeOf } from "./tiles.js";
import { say } from "./text.js";

const MOST = 8; // more names than this cover the plan they point at

export function renderPlanLabels(box, plan, incidentAt, names) {
  const incidents = [...incidentAt.values()].sort(byUrgency);
  plan.canvas.setAttribute("aria-label", incidents.length
    ? say("plan.marked", { list: incidents.map((i) => `${placeOf(i, names)} ${say(`class.${i.class}`)}`).join("，") })
    : say("plan.none"));
  const located = incidents
    .map((incident) => ({ incident, b: plan.buildings.find((x) => x.id === incident.building) }))
    .filter(({ b }) => b && plan.origin)
    .slice(0, MOST);
  box.replaceChildren(...located.map(({ incident }) => h("span", {
    class: `plan-label ${incident.class}${waiting(incident) ? " waiting" : ""}`,
    dataset: { building: incident.building },
  }, placeOf(incident, names))));
  const width = box.clientWidth;
  const height = box.clientHeight;
  located.forEach(({ b }, i) => {
    const label = box.children[i];
    const [x, y] = plan.toScreen(b.lat, b.lon);
    const w = label.offsetWidth;
    const lh = label.offsetHeight;
    // Above the building, centred; moved inside the box where the edge would cut it.
    const left = Math.min(Math.max(0, x - w / 2), Math.max(0, width - w));
    const top = Math.min(Math.max(0, y - lh * 1.4), Math.max(0, height - lh));
    label.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  });
}
