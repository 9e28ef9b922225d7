// Operator actions on an alert. The server applies the lifecycle's rules; a refusal (409)
// is shown to the operator as the server worded it.

import { ApiError, postJson } from "./api.js";
import { STATE_LABEL } from "./classes.js";
import { changed, upsertAlert } from "./state.js";
import { toast } from "./toast.js";

// The API has no "who am I"; the server names us in what it returns after our own actions.
export const me = { name: null };

const LEARN_FROM = { ack: "acked_by", claim: "claimed_by", resolve: "resolved_by" };

export async function act(alert, action, body = {}) {
  try {
    const updated = await postJson(`/api/v1/alerts/${alert.id}/${action}`, body);
    if (LEARN_FROM[action] && updated[LEARN_FROM[action]]) me.name = updated[LEARN_FROM[action]];
    upsertAlert(updated);
    changed("alerts");
    toast(`${updated.subject}: ${action} done · ${STATE_LABEL[updated.state] ?? updated.state}`, { ok: true });
    return updated;
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) toast(`Could not ${action}: ${error.message}`);
    return null;
  }
}
