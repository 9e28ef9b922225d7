// Signal classes (GB 26875 / NFPA 72) and alert states: labels and ranks shared by every view.

import { label } from "./i18n.js";

export const CLASSES = ["fire", "prealarm", "supervisory", "trouble"];

export const classLabel = (alertClass) => label("class", alertClass);
export const stateLabel = (state) => label("state", state);

// Lower rank wins when several alerts colour one building or device.
const CLASS_RANK = { fire: 0, prealarm: 1, supervisory: 2, trouble: 3 };

export const CAUSES = ["real_fire", "false_alarm", "test", "maintenance", "other"];

// What the lifecycle (alerts/lifecycle.py) allows from each state; the server still decides.
export function allowedActions(alert) {
  const open = alert.state !== "resolved";
  const unacked = alert.state === "active_unack" || alert.state === "returned_unack";
  const shelvable = alert.class !== "fire" && ["active_unack", "active_ack", "returned_unack"].includes(alert.state);
  return {
    ack: unacked,
    claim: open,
    shelve: shelvable,
    unshelve: alert.state === "shelved",
    resolve: open,
  };
}

export function worstClass(classes) {
  let worst = null;
  for (const c of classes) {
    if (c in CLASS_RANK && (worst === null || CLASS_RANK[c] < CLASS_RANK[worst])) worst = c;
  }
  return worst;
}
