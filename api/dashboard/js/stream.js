// The live stream of alert and incident events: reconnects by itself and sends Last-Event-ID,
// so the server replays every change made while we were away.

import { authHeaders } from "./api.js";
import { t } from "./i18n.js";
import { SseParser } from "./sse.js";

// The server sends a heartbeat comment well within this; silence longer means a dead link.
const STALL_MS = 35_000;
const MIN_DELAY_MS = 1_000;
const MAX_DELAY_MS = 15_000;

export class LiveStream {
  constructor({ url, onEvent, onReset, onStatus, onOpen, onUnauthorized }) {
    Object.assign(this, { url, onEvent, onReset, onStatus, onOpen, onUnauthorized });
    this.lastEventId = "";
    this.stopped = true;
    this.controller = null;
    this.delay = MIN_DELAY_MS;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.run();
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }

  // Drops the current connection; the loop reconnects at once (e.g. the OS says we are online).
  kick() {
    this.delay = 0;
    this.controller?.abort();
  }

  async run() {
    while (!this.stopped) {
      await this.connectOnce();
      if (this.stopped) break;
      const wait = this.delay;
      this.onStatus("down", wait ? t("conn.reconnectingIn", { n: Math.round(wait / 1000) }) : t("conn.reconnecting"));
      await new Promise((resolve) => setTimeout(resolve, wait));
      this.delay = Math.min(Math.max(this.delay * 2, MIN_DELAY_MS), MAX_DELAY_MS);
    }
  }

  async connectOnce() {
    const controller = (this.controller = new AbortController());
    let watchdog = null;
    const beat = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), STALL_MS);
    };
    const parser = new SseParser((message) => this.deliver(message));
    parser.lastEventId = this.lastEventId;
    try {
      const headers = authHeaders({ Accept: "text/event-stream" });
      if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
      const response = await fetch(this.url, { headers, cache: "no-store", signal: controller.signal });
      if (response.status === 401) {
        this.stopped = true;
        this.onUnauthorized();
        return;
      }
      if (response.status === 400 && this.lastEventId) {
        // The server does not know where we left off (a rebuilt database): start afresh.
        this.lastEventId = "";
        this.onReset();
      }
      if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
      beat();
      this.onStatus("live", t("conn.live"));
      this.onOpen();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        beat();
        parser.feed(value);
        this.delay = parser.retry ?? MIN_DELAY_MS; // the link works again: back off from scratch
      }
    } catch (error) {
      if (!controller.signal.aborted) console.warn("live stream:", error);
    } finally {
      clearTimeout(watchdog);
    }
  }

  deliver(message) {
    if (message.id) this.lastEventId = message.id;
    // The gap since Last-Event-ID was too long to replay: the caller reloads the list.
    if (message.event === "reset") return this.onReset();
    if (message.event !== "alert" && message.event !== "incident") return;
    try {
      this.onEvent(message.event, JSON.parse(message.data));
    } catch (error) {
      console.error(`bad ${message.event} event`, message, error);
    }
  }
}
