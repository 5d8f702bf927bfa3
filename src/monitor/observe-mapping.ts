import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';
import { EventMetricFamily, type EventMetricMapping } from './event-metrics.js';
import { BUILT_IN_METRICS, MAX_NAME_PART_LENGTH, metricNamePart } from './metric-names.js';

/** Longest HELP text accepted by `observe()`, in UTF-16 units. */
const MAX_HELP_LENGTH = 1024;

const checkMappingKeys = optionsChecker({
  where: 'observe() mapping of an event',
  keys: ['durationMs', 'labels', 'name', 'help'],
  hints: { duration: 'durationMs', label: 'labels', description: 'help', metric: 'name' },
});

/** @internal One event of an `observe()` mapping, checked and named. */
export interface ResolvedEventMapping {
  /** The event name (the mapping's key). */
  readonly event: string;
  /** The full metric family name (`<prefix>scaleout_<source>_<name>_total` / `..._duration_seconds`). */
  readonly metric: string;
  /** The HELP text. */
  readonly help: string;
  /** Counter, or histogram when the mapping has `durationMs`. */
  readonly type: 'counter' | 'histogram';
  /** What fed the family: the same origin may observe it again (another emitter), another may not. */
  readonly origin: string;
  /** The mapping's functions. */
  readonly durationMs: ((payload: unknown) => number | undefined) | undefined;
  readonly labels: ((payload: unknown) => Record<string, unknown>) | undefined;
}

/** An event name for messages: quoted, cut, never raw control characters. */
function quoted(event: string): string {
  return JSON.stringify(event.length > 64 ? `${event.slice(0, 64)}...` : event);
}

function part(text: string, what: string): string {
  const named = metricNamePart(text);
  if ('problem' in named) {
    throw new InvalidArgumentError(
      `observe(): the ${what} ${quoted(text)} cannot be part of a metric name: ${named.problem}`,
      {
        argument: what === 'source' ? 'source' : 'mapping',
      },
    );
  }
  return named.part;
}

/**
 * @internal Checks an `observe()` call's `source` and `mapping` before
 * anything is subscribed, and names each metric: a typed error at the call
 * for anything that would make the exposition invalid or fail promtool's
 * lint (a non-string name, an empty or lint-failing name part, an empty,
 * non-string or oversized HELP, unknown mapping keys, non-function
 * `durationMs`/`labels`).
 *
 * @example
 * ```ts
 * const events = resolveObserveMapping('client', { retry: { help: 'Retries' } }, 'myapp_');
 * events[0].metric; // 'myapp_scaleout_client_retry_total'
 * ```
 */
export function resolveObserveMapping(
  source: unknown,
  mapping: unknown,
  prefix: string,
): ResolvedEventMapping[] {
  if (typeof source !== 'string' || source.length === 0 || source.length > MAX_NAME_PART_LENGTH) {
    throw new InvalidArgumentError(
      `observe() needs a source name: a non-empty string of at most ${MAX_NAME_PART_LENGTH} characters`,
      { argument: 'source' },
    );
  }
  const sourcePart = part(source, 'source');
  if (typeof mapping !== 'object' || mapping === null || Array.isArray(mapping)) {
    throw new InvalidArgumentError(
      'observe() needs a mapping object: event name → { durationMs?, labels?, name?, help? }',
      {
        argument: 'mapping',
      },
    );
  }
  const out: ResolvedEventMapping[] = [];
  for (const event of Object.keys(mapping)) {
    const raw = (mapping as Record<string, unknown>)[event];
    try {
      checkMappingKeys(raw);
    } catch (err) {
      throw new InvalidOptionsError(`observe() mapping of ${quoted(event)}: ${(err as Error).message}`, {
        option: (err as InvalidOptionsError).option,
        suggestion: (err as InvalidOptionsError).suggestion,
      });
    }
    const m = (raw ?? {}) as EventMetricMapping<unknown>;
    for (const fn of ['durationMs', 'labels'] as const) {
      if (m[fn] !== undefined && typeof m[fn] !== 'function') {
        throw new InvalidArgumentError(`observe(): ${fn} of event ${quoted(event)} must be a function`, {
          argument: 'mapping',
        });
      }
    }
    if (m.name !== undefined && typeof m.name !== 'string') {
      throw new InvalidArgumentError('observe(): a mapping name must be a string', { argument: 'mapping' });
    }
    const help = m.help;
    if (
      help !== undefined &&
      (typeof help !== 'string' || help.trim() === '' || help.length > MAX_HELP_LENGTH)
    ) {
      throw new InvalidArgumentError(
        `observe(): help must be a string with some text, at most ${MAX_HELP_LENGTH} characters`,
        { argument: 'mapping' },
      );
    }
    const namePart = part(m.name ?? event, m.name === undefined ? 'event name' : 'mapping name');
    const type = m.durationMs === undefined ? 'counter' : 'histogram';
    const base = `${prefix}scaleout_${sourcePart}_${namePart}`;
    out.push({
      event,
      metric: type === 'histogram' ? `${base}_duration_seconds` : `${base}_total`,
      help: help ?? `${type === 'histogram' ? 'Duration of' : 'Count of'} ${sourcePart} ${namePart} events`,
      type,
      origin: `${source}\u0000${m.name ?? event}`,
      durationMs: m.durationMs as ResolvedEventMapping['durationMs'],
      labels: m.labels as ResolvedEventMapping['labels'],
    });
  }
  return out;
}

/**
 * @internal The families an `observe()` call adds to `existing`, or a typed
 * error when one of its metric names is the monitor's own or is already fed
 * by another source or event (or with another type): two families of one
 * name would make the exposition invalid. The same source and event may
 * feed a family again (observing a second emitter of the same kind).
 *
 * @example
 * ```ts
 * for (const [name, family] of newEventFamilies(events, families, '', 2000)) families.set(name, family);
 * ```
 */
export function newEventFamilies(
  events: readonly ResolvedEventMapping[],
  existing: ReadonlyMap<string, EventMetricFamily>,
  prefix: string,
  maxSeries: number,
): Map<string, EventMetricFamily> {
  const added = new Map<string, EventMetricFamily>();
  for (const e of events) {
    if (BUILT_IN_METRICS.includes(e.metric.slice(prefix.length))) {
      throw new InvalidArgumentError(`observe(): ${e.metric} is one of the monitor's own metrics`, {
        argument: 'mapping',
      });
    }
    const family = existing.get(e.metric) ?? added.get(e.metric);
    if (family === undefined) {
      added.set(e.metric, new EventMetricFamily(e.metric, e.help, e.type, maxSeries, e.origin));
    } else if (family.origin !== e.origin || family.type !== e.type) {
      throw new InvalidArgumentError(
        `observe(): ${e.metric} is already fed by another source or event; give this one another name`,
        { argument: 'mapping' },
      );
    }
  }
  return added;
}
