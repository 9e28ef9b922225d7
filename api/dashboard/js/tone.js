// Alarm sounds made with the Web Audio API (no audio files). Browsers only let a page make
// sound after a user gesture, so the operator switches it on once per session.

const FIRE_CYCLE_S = 4; // ISO 8201 temporal-three: three 0.5 s tones, 0.5 s apart, then 1.5 s

export class Sounder {
  constructor() {
    this.ctx = null;
    this.fireTimer = null;
  }

  get enabled() {
    return this.ctx !== null && this.ctx.state === "running";
  }

  get sounding() {
    return this.fireTimer !== null;
  }

  async enable() {
    this.ctx ??= new AudioContext();
    await this.ctx.resume();
    this.tone(660, 0, 0.12, "sine", 0.2); // confirms the speakers work
  }

  async disable() {
    this.fire(false);
    await this.ctx?.suspend();
  }

  tone(freq, delayS, durationS, type = "square", volume = 0.15) {
    if (!this.enabled) return;
    const start = this.ctx.currentTime + delayS;
    const osc = this.ctx.createOscillator();
    const gain = this.ctx.createGain();
    osc.type = type;
    osc.frequency.setValueAtTime(freq, start);
    // Short ramps avoid clicks at the edges of each tone.
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(volume, start + 0.02);
    gain.gain.setValueAtTime(volume, start + durationS - 0.03);
    gain.gain.linearRampToValueAtTime(0, start + durationS);
    osc.connect(gain).connect(this.ctx.destination);
    osc.start(start);
    osc.stop(start + durationS + 0.05);
  }

  // Fire sounds until every fire alarm is acknowledged, as a control panel's sounder does.
  fire(on) {
    if (on && this.enabled && !this.fireTimer) {
      const cycle = () => [0, 1, 2].forEach((i) => this.tone(950, i, 0.5, "square", 0.18));
      cycle();
      this.fireTimer = setInterval(cycle, FIRE_CYCLE_S * 1000);
    } else if (!on && this.fireTimer) {
      clearInterval(this.fireTimer);
      this.fireTimer = null;
    }
  }

  // One short signal for a new alert of a lesser class; each class sounds different.
  chime(alertClass) {
    if (alertClass === "prealarm") {
      this.tone(660, 0, 0.25, "triangle", 0.2);
      this.tone(880, 0.3, 0.35, "triangle", 0.2);
    } else if (alertClass === "supervisory") {
      this.tone(520, 0, 0.3, "sine", 0.2);
    } else if (alertClass === "trouble") {
      this.tone(330, 0, 0.2, "sine", 0.2);
    }
  }
}
