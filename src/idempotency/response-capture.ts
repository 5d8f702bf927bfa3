import { type ServerResponse, STATUS_CODES } from 'node:http';

/**
 * @internal What a handler answered, as seen on the node response: status
 * (and its message when the handler chose one), every header line as node sends it (lower-case names; a header with
 * several values is one entry per value, in order), and the body bytes, or
 * undefined when they were more than the cap.
 */
export interface CapturedResponse {
  readonly status: number;
  /** The reason phrase of the status line, when it is not node's own for the status (HTTP/1 only). */
  readonly statusMessage: string | undefined;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer | undefined;
}

type Writer = (...args: unknown[]) => unknown;

/**
 * The status line's reason phrase when it is not node's default for the
 * status: the one writeHead sent, or, before it ran, the one it will send
 * (`res.statusMessage`, else the default). HTTP/2 has none.
 */
function chosenMessage(res: ServerResponse, status: number): string | undefined {
  if ((res.req?.httpVersionMajor ?? 1) >= 2) return undefined;
  const standard = STATUS_CODES[status] ?? 'unknown';
  const message = res.headersSent ? res.statusMessage : res.statusMessage || standard;
  return typeof message === 'string' && message !== standard ? message : undefined;
}
type HeaderLine = [string, string];

/** A header value as node sends it: an array is one line per element. */
function headerValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number') return [String(value)];
  if (Array.isArray(value)) return value.map(String);
  return [];
}

function pushLines(into: HeaderLine[], name: unknown, value: unknown): void {
  if (typeof name !== 'string') return;
  for (const text of headerValues(value)) into.push([name.toLowerCase(), text]);
}

/**
 * Headers given to `writeHead`, one entry per line, in order: an object, a
 * flat `[name, value, ...]` array (a name may repeat), or `[name, value]`
 * pairs.
 */
function headLines(value: unknown): HeaderLine[] {
  const lines: HeaderLine[] = [];
  if (typeof value !== 'object' || value === null) return lines;
  if (Array.isArray(value)) {
    if (value.every((v) => Array.isArray(v))) {
      for (const pair of value as unknown[][]) pushLines(lines, pair[0], pair[1]);
    } else {
      for (let i = 0; i + 1 < value.length; i += 2) pushLines(lines, value[i], value[i + 1]);
    }
    return lines;
  }
  for (const [name, raw] of Object.entries(value)) pushLines(lines, name, raw);
  return lines;
}

/** The header lines set on `res` (`setHeader`; an array is one line per value). */
function setLines(res: ServerResponse): HeaderLine[] {
  const lines: HeaderLine[] = [];
  for (const [name, value] of Object.entries(res.getHeaders())) pushLines(lines, name, value);
  return lines;
}

/**
 * @internal Watches what a handler writes to `res` (status, headers, body
 * up to `maxBytes`) and calls `onEnd` once, when the handler calls
 * `res.end()`: the response is complete then, whether or not the client
 * is still there to receive it (a reset after commit is the case this is
 * for). Everything is passed on to the real methods unchanged.
 */
export function captureResponse(
  res: ServerResponse,
  maxBytes: number,
  onEnd: (captured: CapturedResponse) => void,
): void {
  const chunks: Buffer[] = [];
  /** The header lines that went out with `writeHead`, once it ran. */
  let sent: HeaderLine[] | undefined;
  let size = 0;
  let over = false;
  let ended = false;
  const add = (chunk: unknown, encoding: unknown) => {
    if (over) return;
    let bytes: Buffer;
    if (typeof chunk === 'string') {
      bytes = Buffer.from(
        chunk,
        typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8',
      );
    } else if (chunk instanceof Uint8Array) {
      // A copy: the caller may reuse its buffer once write() returns.
      bytes = Buffer.from(chunk);
    } else {
      return;
    }
    size += bytes.length;
    if (size > maxBytes) {
      over = true;
      chunks.length = 0;
      return;
    }
    chunks.push(bytes);
  };
  const writeHead = res.writeHead as unknown as Writer;
  const write = res.write as unknown as Writer;
  const end = res.end as unknown as Writer;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const out = writeHead.apply(this, args);
    // Node sends the headers set on the response, merged with those given
    // here (how depends on its version: read them back), or, when none were
    // set before, exactly those given here (which it does not keep).
    const set = setLines(this);
    sent = set.length > 0 ? set : headLines(typeof args[1] === 'string' ? args[2] : args[1]);
    return out;
  } as ServerResponse['writeHead'];
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    if (!ended) add(args[0], args[1]);
    return write.apply(this, args);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (!ended) {
      ended = true;
      if (typeof args[0] !== 'function') add(args[0], typeof args[1] === 'string' ? args[1] : undefined);
      const captured: CapturedResponse = {
        status: res.statusCode,
        statusMessage: chosenMessage(res, res.statusCode),
        headers: sent ?? setLines(res),
        body: over ? undefined : Buffer.concat(chunks),
      };
      try {
        onEnd(captured);
      } catch {
        // The capture must never break the response.
      }
    }
    return end.apply(this, args);
  } as ServerResponse['end'];
}
