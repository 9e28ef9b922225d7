// When an incident calls the operator: it opens, rises to a higher class, is confirmed, or
// comes back unacknowledged. A signal that joins an incident calls nobody by itself: the
// server acknowledges it with its incident unless it raises the class or confirms it, so one
// fire sounds once, not once per detector and rule.

import { worstClass } from "./classes.js";
import { waiting } from "./state.js";

// `before` is the incident as we knew it (undefined: new to us); returns the class to sound, or null.
export function callOf(before, after) {
  if (!waiting(after)) return null;
  const news = !before
    || !waiting(before)
    || (after.state === "active_unack" && before.state !== "active_unack")
    || (after.class !== before.class && worstClass([before.class, after.class]) === after.class)
    || (after.confirmed && !before.confirmed);
  return news ? after.class : null;
}
