// A Server-Sent Events parser (WHATWG HTML §9.2.6) for streams read with fetch: EventSource
// cannot send an Authorization header, fetch can.

export class SseParser {
  constructor(onMessage, onComment = () => {}) {
    this.onMessage = onMessage;
    this.onComment = onComment;
    this.buffer = "";
    this.reset();
    this.lastEventId = "";
    this.retry = null;
  }

  reset() {
    this.event = "";
    this.data = [];
    this.hasData = false;
  }

  feed(chunk) {
    this.buffer += chunk;
    // A trailing "\r" may be the first half of a "\r\n": the next chunk decides.
    const end = this.buffer.endsWith("\r") ? this.buffer.length - 1 : this.buffer.length;
    const lines = this.buffer.slice(0, end).split(/\r\n|\r|\n/);
    this.buffer = lines.pop() + this.buffer.slice(end);
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return this.onComment(line.slice(1).trim());
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") {
      this.data.push(value);
      this.hasData = true;
    } else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
  }

  dispatch() {
    if (this.hasData) {
      this.onMessage({ event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId });
    }
    this.reset();
  }
}
