import { bucketIndexOf, bucketUpperBoundMs, type LatencyHistogram } from './latency-histogram.js';

/**
 * Content type of the Prometheus text exposition format 0.0.4.
 *
 * @example
 * ```ts
 * res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE });
 * ```
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Escapes a label value for the text format: backslash, double quote and
 * line feed are escaped; lone surrogates become U+FFFD so the output is
 * valid UTF-8.
 */
export function escapeLabelValue(value: string): string {
  // String#toWellFormed is in Node 20 (ES2024); the project's lib target is ES2023.
  const wellFormed = (value as string & { toWellFormed(): string }).toWellFormed();
  return /[\\"\n]/.test(wellFormed)
    ? wellFormed.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
    : wellFormed;
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `a="x",b="y"` (no braces) from label pairs, values escaped. */
export function labelText(pairs: ReadonlyArray<readonly [string, string]>): string {
  let out = '';
  for (const [name, value] of pairs) {
    if (out !== '') out += ',';
    out += `${name}="${escapeLabelValue(value)}"`;
  }
  return out;
}

/** A number in the text format (`+Inf`, `-Inf`, `NaN` spelled as Prometheus expects). */
export function formatValue(n: number): string {
  if (Number.isFinite(n)) return String(n);
  if (Number.isNaN(n)) return 'NaN';
  return n > 0 ? '+Inf' : '-Inf';
}

/**
 * The `le` bounds of an exposed histogram: each wanted bound (ms) snapped up
 * to the nearest internal bucket bound, so cumulative counts are exact.
 */
export class ExposedBuckets {
  /** Internal bucket index of each bound, ascending, distinct. */
  readonly indices: Int32Array;
  /** The `le` label text of each bound, in seconds. */
  readonly labels: readonly string[];

  constructor(boundsMs: readonly number[]) {
    const indices = [...new Set(boundsMs.map((b) => bucketIndexOf(b)))].sort((a, b) => a - b);
    this.indices = Int32Array.from(indices);
    this.labels = indices.map((i) => String(bucketUpperBoundMs(i) / 1000));
  }
}

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const ZERO = 0x30;

/**
 * Writes the text format straight into 64 KB buffers: a scrape of
 * thousands of series allocates a few buffers instead of millions of
 * strings, which keeps garbage-collection pauses out of the scrape.
 */
export class ExpositionWriter {
  #buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #pos = 0;
  #chunks: Buffer[] = [];
  #prefix: Buffer = Buffer.allocUnsafe(1024);
  readonly #leBytes: Buffer[];
  readonly #buckets: ExposedBuckets;

  constructor(buckets: ExposedBuckets) {
    this.#buckets = buckets;
    this.#leBytes = [...buckets.labels, '+Inf'].map((le) => Buffer.from(`${le}"} `, 'latin1'));
  }

  /** Completed output since the last call (the buffered tail included). */
  take(): Buffer[] {
    this.#flush();
    const out = this.#chunks;
    this.#chunks = [];
    return out;
  }

  /** Appends text (UTF-8). */
  text(s: string): void {
    this.#ensure(s.length * 3);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
  }

  /** Appends one histogram series: `_bucket` lines at the exposed bounds, `_sum` and `_count` (seconds). */
  histogram(name: string, labels: string, h: LatencyHistogram): void {
    const head = labels === '' ? `${name}_bucket{le="` : `${name}_bucket{${labels},le="`;
    if (this.#prefix.length < head.length * 3) this.#prefix = Buffer.allocUnsafe(head.length * 3);
    const prefix = this.#prefix;
    const prefixLen = prefix.write(head, 0, 'utf8');
    const { indices } = this.#buckets;
    const counts = h.counts;
    const high = h.highIndex;
    let i = h.lowIndex;
    let cumulative = 0;
    for (let b = 0; b <= indices.length; b++) {
      if (b < indices.length) {
        const stop = Math.min(indices[b]!, high);
        for (; i <= stop; i++) cumulative += counts[i]!;
      } else {
        cumulative = h.count;
      }
      const le = this.#leBytes[b]!;
      this.#ensure(prefixLen + le.length + 24);
      const buf = this.#buf;
      let pos = this.#pos;
      for (let k = 0; k < prefixLen; k++) buf[pos++] = prefix[k]!;
      for (let k = 0; k < le.length; k++) buf[pos++] = le[k]!;
      pos = writeUint(buf, pos, cumulative);
      buf[pos++] = NEWLINE;
      this.#pos = pos;
    }
    const braces = labels === '' ? '' : `{${labels}}`;
    this.text(`${name}_sum${braces} ${formatValue(h.sum / 1000)}\n${name}_count${braces} ${h.count}\n`);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    this.#flush();
    if (n > this.#buf.length) this.#buf = Buffer.allocUnsafe(n);
  }

  #flush(): void {
    if (this.#pos === 0) return;
    this.#chunks.push(this.#buf.subarray(0, this.#pos));
    this.#buf = Buffer.allocUnsafe(CHUNK_BYTES);
    this.#pos = 0;
  }
}

/** Writes a non-negative integer (< 2^53) in decimal; returns the new position. */
function writeUint(buf: Buffer, pos: number, n: number): number {
  if (n < 10) {
    buf[pos] = ZERO + n;
    return pos + 1;
  }
  let digits = 0;
  for (let m = n; m >= 1; m = Math.floor(m / 10)) digits++;
  let end = pos + digits;
  for (let m = n; end > pos; m = Math.floor(m / 10)) buf[--end] = ZERO + (m % 10);
  return pos + digits;
}
