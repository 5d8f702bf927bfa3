/**
 * `npm run example -- --trace`: the OpenTelemetry SDK for the run (spans
 * kept in memory), the customer's request as the root span, and the one
 * order's spans gathered into a tree: its own trace, plus the traces the
 * queue's consumers start with a link to the `send order.created` span
 * (consumers are linked by default, as the messaging conventions advise).
 *
 * scaleout needs nothing but the SDK registered: the monitor middleware
 * open SERVER spans, every ServiceClient call and attempt a CLIENT span
 * (with `traceparent` on the wire), `publish` a PRODUCER span (its context
 * in the message headers), each delivery a CONSUMER span, the cache's
 * loader and the lock's waits INTERNAL spans.
 */
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** One span of the order's tree, as the waterfall draws it. */
export interface TraceNode {
  name: string;
  /** `server`, `client`, `producer`, `consumer` or `internal`. */
  kind: string;
  /** The service that made the span (from the ports and consumer groups). */
  service: string;
  /** Start and end, ms from the start of the root span. */
  startMs: number;
  endMs: number;
  /** Linked to its parent (a consumer's new trace), rather than its child. */
  linked: boolean;
  /** A few attributes worth showing (retries, status, error). */
  note: string;
  children: TraceNode[];
}

const KINDS = ['internal', 'server', 'client', 'producer', 'consumer'];

export interface Tracing {
  /** Runs `fn` in the customer's CLIENT span; `headers` carry its context. Returns the span's id. */
  customer(
    name: string,
    serverPort: number,
    fn: (headers: Record<string, string>) => Promise<unknown>,
  ): Promise<string>;
  /**
   * The tree of the span `rootId`, once it stops growing (the last SERVER
   * spans end on 'close', the consumers on their own time): at most `waitMs`.
   */
  tree(rootId: string, names: Naming, waitMs?: number): Promise<TraceNode>;
  close(): Promise<void>;
}

/** How spans are given a service: the port each service listens on, the group each consumer is. */
export interface Naming {
  ports: Map<number, string>;
  groups: Map<string, string>;
  /** The service of the root span. */
  root: string;
}

/** Registers the SDK globally (tracer, W3C trace context and baggage, async-hooks context). */
export function startTracing(): Tracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  const tracer = trace.getTracer('order-flow-example');
  return {
    async customer(name, serverPort, fn) {
      return tracer.startActiveSpan(
        name,
        { kind: SpanKind.CLIENT, attributes: { 'server.port': serverPort } },
        async (span) => {
          const headers: Record<string, string> = {};
          propagation.inject(context.active(), headers);
          try {
            await fn(headers);
          } finally {
            span.end();
          }
          return span.spanContext().spanId;
        },
      );
    },
    async tree(rootId, names, waitMs = 5_000) {
      const until = Date.now() + waitMs;
      let last = -1;
      let stable = 0;
      for (;;) {
        const node = build(exporter.getFinishedSpans(), rootId, names);
        const size = count(node);
        stable = size === last ? stable + 1 : 0;
        last = size;
        if (stable >= 3 || Date.now() > until) return node!;
        await new Promise((r) => setTimeout(r, 30));
      }
    },
    async close() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

function count(node: TraceNode | undefined): number {
  return node === undefined ? 0 : 1 + node.children.reduce((n, c) => n + count(c), 0);
}

const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;

/** The tree under `rootId`: parent links within a trace, and links from a consumer's new trace. */
function build(spans: ReadableSpan[], rootId: string, names: Naming): TraceNode | undefined {
  const byParent = new Map<string, ReadableSpan[]>();
  const byLink = new Map<string, ReadableSpan[]>();
  for (const s of spans) {
    const parent = s.parentSpanContext?.spanId;
    if (parent !== undefined) byParent.set(parent, [...(byParent.get(parent) ?? []), s]);
    else for (const l of s.links) byLink.set(l.context.spanId, [...(byLink.get(l.context.spanId) ?? []), s]);
  }
  const root = spans.find((s) => s.spanContext().spanId === rootId);
  if (root === undefined) return undefined;
  const t0 = ms(root.startTime);
  /** The `server.port` a CLIENT span called: names the SERVER span under it. */
  const portOf = new WeakMap<TraceNode, number>();
  const node = (s: ReadableSpan, parent: TraceNode | undefined, linked: boolean): TraceNode => {
    const a = s.attributes;
    let service = parent?.service ?? names.root;
    if (s.kind === SpanKind.SERVER && parent !== undefined) {
      service = names.ports.get(portOf.get(parent) ?? 0) ?? service;
    }
    if (s.kind === SpanKind.CONSUMER) {
      service = names.groups.get(String(a['messaging.consumer.group.name'])) ?? service;
    }
    const notes: string[] = [];
    if (a['http.request.resend_count']) notes.push(`resend ${a['http.request.resend_count']}`);
    if (a['http.response.status_code'] && s.kind === SpanKind.SERVER) {
      notes.push(String(a['http.response.status_code']));
    }
    if (a['error.type']) notes.push(`error ${a['error.type']}`);
    if (a['scaleout.cache.load.kind']) notes.push(String(a['scaleout.cache.load.kind']));
    if (a['scaleout.lock.fencing_token'] !== undefined)
      notes.push(`token ${a['scaleout.lock.fencing_token']}`);
    const n: TraceNode = {
      name: s.name,
      kind: KINDS[s.kind] ?? 'internal',
      service,
      startMs: ms(s.startTime) - t0,
      endMs: ms(s.endTime) - t0,
      linked,
      note: notes.join(', '),
      children: [],
    };
    if (typeof a['server.port'] === 'number') portOf.set(n, a['server.port']);
    const id = s.spanContext().spanId;
    const kids = [
      ...(byParent.get(id) ?? []).map((c) => [c, false] as const),
      ...(byLink.get(id) ?? []).map((c) => [c, true] as const),
    ].sort((x, y) => ms(x[0].startTime) - ms(y[0].startTime));
    n.children = kids.map(([c, l]) => node(c, n, l));
    return n;
  };
  return node(root, undefined, false);
}
