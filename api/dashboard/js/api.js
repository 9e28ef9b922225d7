// Every call to /api/v1 goes through here: it adds the token and turns a 401 into a log-out.

import { session } from "./session.js";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

let onUnauthorized = () => {};

export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

export function authHeaders(extra = {}) {
  return { Authorization: `Bearer ${session.token}`, ...extra };
}

async function detailOf(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
    return JSON.stringify(body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

export async function request(path, { method = "GET", body, signal } = {}) {
  const headers = authHeaders(body === undefined ? {} : { "Content-Type": "application/json" });
  const response = await fetch(path, {
    method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    onUnauthorized();
    throw new ApiError(401, await detailOf(response));
  }
  if (!response.ok) throw new ApiError(response.status, await detailOf(response));
  return response;
}

export async function getJson(path, options) {
  return (await request(path, options)).json();
}

export async function postJson(path, body = {}) {
  return (await request(path, { method: "POST", body })).json();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") q.set(key, value);
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}
