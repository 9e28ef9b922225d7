// Operator actions on an incident or a single alert. The server applies the rules (an
// incident's action cascades to its signals there); a refusal (409) is shown to the operator
// as the server worded it.

import { ApiError, postJson } from "./api.js";
import { STATE_LABEL } from "./classes.js";
import { incidentTitle } from "./format.js";
import { changed, upsertAlert, upsertIncident } from "./state.js";
import { toast } from "./toast.js";

// The API has no "who am I"; the server names us in what it returns after our own actions.
export const me = { name: null };

export function mineLabel(name, prefix) {
  return name === me.name ? `${prefix} you (${name})` : `${prefix} ${name}`;
}

const LEARN_FROM = { ack: "acked_by", claim: "claimed_by", resolve: "resolved_by" };

async function post({ path, action, body, store, what, label }) {
  try {
    const updated = await postJson(`${path}/${action}`, body);
    if (LEARN_FROM[action] && updated[LEARN_FROM[action]]) me.name = updated[LEARN_FROM[action]];
    store(updated);
    changed(what);
    toast(`${label(updated)}: ${action} done · ${STATE_LABEL[updated.state] ?? updated.state}`, { ok: true });
    return updated;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) toast(`Could not ${action}: ${error.message}`);
    return null;
  }
}

export function act(alert, action, body = {}) {
  return post({
    path: `/api/v1/alerts/${alert.id}`, action, body, store: upsertAlert, what: "alerts", label: (a) => a.subject,
  });
}

export function actOnIncident(incident, action, body = {}) {
  return post({
    path: `/api/v1/incidents/${incident.id}`, action, body, store: upsertIncident, what: "incidents", label: incidentTitle,
  });
}
