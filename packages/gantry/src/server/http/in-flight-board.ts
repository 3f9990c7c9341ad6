/**
 * What a worker is doing, in memory shared with its watchdog thread.
 *
 * A worker whose event loop is stuck cannot say why, and the request that stuck it started after any
 * message it could have sent. So the main thread writes each request into a slot of a SharedArrayBuffer
 * when it starts and clears it when it ends (a few hundred nanoseconds), and beats a clock there every
 * BEAT_MS. The watchdog thread reads the board only once the clock has stopped, when nothing writes.
 */

const SLOTS = 64;
const SLOT_BYTES = 256;
const TEXT_OFFSET = 16;
const TEXT_BYTES = SLOT_BYTES - TEXT_OFFSET;
/** Header: [0] last beat (epoch ms, Float64), [1] requests that did not fit in a slot (Float64). */
const HEADER_BYTES = 16;

export const BEAT_MS = 200;

export interface InFlightRequest {
  /** "GET /path", cut to fit a slot. */
  readonly request: string;
  readonly startedAt: number;
}

export class InFlightBoard {
  readonly buffer: SharedArrayBuffer;
  readonly #header: Float64Array;
  readonly #starts: Float64Array;
  readonly #lengths: Int32Array;
  readonly #texts: Uint8Array[];
  readonly #free: number[];
  readonly #encoder = new TextEncoder();

  constructor(buffer = new SharedArrayBuffer(HEADER_BYTES + SLOTS * SLOT_BYTES)) {
    this.buffer = buffer;
    this.#header = new Float64Array(buffer, 0, 2);
    // Slot i: start time (Float64 at 0), text length (Int32 at 8), text (from TEXT_OFFSET).
    this.#starts = new Float64Array(buffer, HEADER_BYTES, (SLOTS * SLOT_BYTES) / 8);
    this.#lengths = new Int32Array(buffer, HEADER_BYTES, (SLOTS * SLOT_BYTES) / 4);
    this.#texts = Array.from(
      { length: SLOTS },
      (_, i) => new Uint8Array(buffer, HEADER_BYTES + i * SLOT_BYTES + TEXT_OFFSET, TEXT_BYTES),
    );
    this.#free = Array.from({ length: SLOTS }, (_, i) => SLOTS - 1 - i);
  }

  beat(now = Date.now()): void {
    this.#header[0] = now;
  }

  get lastBeat(): number {
    return this.#header[0] ?? 0;
  }

  /** Records a request; returns its slot, or -1 when the board is full (it is then only counted). */
  begin(method: string, url: string, now = Date.now()): number {
    const slot = this.#free.pop();
    if (slot === undefined) {
      this.#header[1] = (this.#header[1] ?? 0) + 1;
      return -1;
    }
    const { written } = this.#encoder.encodeInto(`${method} ${url}`, this.#texts[slot] as Uint8Array);
    this.#starts[(slot * SLOT_BYTES) / 8] = now;
    this.#lengths[(slot * SLOT_BYTES) / 4 + 2] = written;
    return slot;
  }

  end(slot: number): void {
    if (slot < 0) {
      this.#header[1] = Math.max(0, (this.#header[1] ?? 0) - 1);
      return;
    }
    this.#lengths[(slot * SLOT_BYTES) / 4 + 2] = 0;
    this.#free.push(slot);
  }

  /** The requests on the board, oldest first, and how many more did not fit. */
  read(): { requests: InFlightRequest[]; overflow: number } {
    const decoder = new TextDecoder();
    const requests: InFlightRequest[] = [];
    for (let slot = 0; slot < SLOTS; slot++) {
      const length = this.#lengths[(slot * SLOT_BYTES) / 4 + 2] ?? 0;
      if (length === 0) continue;
      const text = (this.#texts[slot] as Uint8Array).slice(0, length);
      requests.push({ request: decoder.decode(text), startedAt: this.#starts[(slot * SLOT_BYTES) / 8] ?? 0 });
    }
    requests.sort((a, b) => a.startedAt - b.startedAt);
    return { requests, overflow: this.#header[1] ?? 0 };
  }
}
