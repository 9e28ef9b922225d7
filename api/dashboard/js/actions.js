// Operator actions on an incident or a single alert. The server applies the rules (an
// incident's action cascades to its signals there); a refusal (409) is shown to the operator
// as the server worded it.

import { ApiError, postJson } from "./api.js";
import { stateLabel } from "./classes.js";
import { incidentTitle } from "./format.js";
import { label, t } from "./i18n.js";
import { changed, upsertAlert, upsertIncident } from "./state.js";
import { toast } from "./toast.js";

// Who is signed in, as /api/v1/me says at sign-in.
export const me = { name: null };

export function handledBy(name) {
  return name === me.name ? t("card.handledByYou", { name }) : t("card.handledBy", { name });
}

async function post({ path, action, body, store, what, title }) {
  try {
    const updated = await postJson(`${path}/${action}`, body);
    store(updated);
    changed(what);
    toast(t("toast.actionDone", { what: title(updated), action: label("action", action), state: stateLabel(updated.state) }), { ok: true });
    return updated;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) {
      toast(t("toast.actionFailed", { action: label("action", action), error: error.message }));
    }
    return null;
  }
}

export function act(alert, action, body = {}) {
  return post({
    path: `/api/v1/alerts/${alert.id}`, action, body, store: upsertAlert, what: "alerts", title: (a) => a.subject,
  });
}

export function actOnIncident(incident, action, body = {}) {
  return post({
    path: `/api/v1/incidents/${incident.id}`, action, body, store: upsertIncident, what: "incidents", title: incidentTitle,
  });
}
