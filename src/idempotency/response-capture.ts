import type { ServerResponse } from 'node:http';

/**
 * @internal What a handler answered, as seen on the node response: status,
 * every header (lower-case names, values joined with `, `), and the body
 * bytes, or undefined when they were more than the cap.
 */
export interface CapturedResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer | undefined;
}

type Writer = (...args: unknown[]) => unknown;

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map(String).join(', ');
  return undefined;
}

/** Headers given to `writeHead`: an object, a flat `[name, value, ...]` array, or `[name, value]` pairs. */
function headArgument(value: unknown, into: Map<string, string>): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    if (value.every((v) => Array.isArray(v))) {
      for (const pair of value as unknown[][]) {
        const text = headerText(pair[1]);
        if (typeof pair[0] === 'string' && text !== undefined) into.set(pair[0].toLowerCase(), text);
      }
      return;
    }
    for (let i = 0; i + 1 < value.length; i += 2) {
      const text = headerText(value[i + 1]);
      if (typeof value[i] === 'string' && text !== undefined)
        into.set((value[i] as string).toLowerCase(), text);
    }
    return;
  }
  for (const [name, raw] of Object.entries(value)) {
    const text = headerText(raw);
    if (text !== undefined) into.set(name.toLowerCase(), text);
  }
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
  const head = new Map<string, string>();
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
    headArgument(typeof args[1] === 'string' ? args[2] : args[1], head);
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    if (!ended) add(args[0], args[1]);
    return write.apply(this, args);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (!ended) {
      ended = true;
      if (typeof args[0] !== 'function') add(args[0], typeof args[1] === 'string' ? args[1] : undefined);
      const headers = new Map<string, string>();
      for (const [name, value] of Object.entries(res.getHeaders())) {
        const text = headerText(value);
        if (text !== undefined) headers.set(name.toLowerCase(), text);
      }
      for (const [name, value] of head) headers.set(name, value);
      const captured: CapturedResponse = {
        status: res.statusCode,
        headers: [...headers],
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
