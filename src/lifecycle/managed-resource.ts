import { InvalidArgumentError } from '../errors.js';
import type { HttpServerLike } from './http-drain.js';
import { type FastifyLike, isFastifyLike, isHttpServerLike } from './service-lifecycle-options.js';

/**
 * What {@link ServiceLifecycle.manage} accepts: anything with `close()`
 * (every scaleout primitive, a database pool wrapped as `{ close }`), a
 * registry `Registration` (deregistered early in the stop), a queue
 * consumer (stopped once its messages in flight are acknowledged), a
 * node HTTP server (drained), or a Fastify instance (drained, and stopped
 * through `fastify.close()`).
 *
 * @example
 * ```ts
 * const pool: Closable = { close: () => db.end() };
 * ```
 */
export interface Closable {
  /** Releases what the resource holds; may return a promise. */
  close(): unknown;
}

/**
 * A registry registration, as `registry.register()` returns it.
 *
 * @example
 * ```ts
 * const registration: RegistrationLike = await registry.register('pricing', url);
 * ```
 */
export interface RegistrationLike {
  /** The registered instance. */
  readonly instance: {
    /** Its base URL. */
    readonly url: string;
    /** The service it belongs to. */
    readonly service?: string;
  };
  /** Removes the instance from the registry (every view drops it). */
  deregister(): Promise<boolean>;
}

/**
 * A queue consumer, as `queue.consume()` returns it.
 *
 * @example
 * ```ts
 * const consumer: ConsumerLike = await queue.consume('order.created', handle);
 * ```
 */
export interface ConsumerLike extends Closable {
  /** The topic it consumes. */
  readonly topic: string;
  /** Its consumer group. */
  readonly group: string;
  /** Messages being handled now (the stop waits for them to be acknowledged). */
  readonly inFlight: number;
}

/** @internal A resource sorted by the step that handles it. */
export type Managed =
  | { kind: 'registration'; name: string; resource: RegistrationLike }
  | { kind: 'consumer'; name: string; resource: ConsumerLike }
  | { kind: 'server'; name: string; resource: HttpServerLike; app?: FastifyLike }
  | { kind: 'closable'; name: string; resource: Closable };

function isRegistration(value: object): value is RegistrationLike {
  const r = value as Partial<RegistrationLike>;
  return (
    typeof r.deregister === 'function' &&
    typeof r.instance === 'object' &&
    r.instance !== null &&
    typeof r.instance.url === 'string'
  );
}

function isConsumer(value: object): value is ConsumerLike {
  const c = value as Partial<ConsumerLike>;
  return (
    typeof c.close === 'function' &&
    typeof c.topic === 'string' &&
    typeof c.group === 'string' &&
    typeof c.inFlight === 'number'
  );
}

/** A readable default name: the class name (DistributedCache, MessageQueue...). */
function defaultName(value: object, kind: Managed['kind']): string {
  if (kind === 'registration') {
    const i = (value as RegistrationLike).instance;
    return `registration ${i.service === undefined ? '' : `${i.service} `}${i.url}`;
  }
  if (kind === 'consumer')
    return `consumer ${(value as ConsumerLike).topic}/${(value as ConsumerLike).group}`;
  if (isFastifyLike(value)) return 'fastify';
  const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' && ctor.name !== 'Object' ? ctor.name : kind;
}

/** @internal Sorts what `manage()` was given, or throws InvalidArgumentError. */
export function classify(value: unknown, name: string | undefined): Managed {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError(
      `lifecycle.manage() takes an object with close(), a Registration, a queue consumer or an http.Server, got ${value === null ? 'null' : typeof value}`,
      { argument: 'resource' },
    );
  }
  let managed: { kind: Managed['kind']; resource: object; app?: FastifyLike };
  if (isHttpServerLike(value)) managed = { kind: 'server', resource: value };
  else if (isFastifyLike(value)) managed = { kind: 'server', resource: value.server, app: value };
  else if (isRegistration(value)) managed = { kind: 'registration', resource: value };
  else if (isConsumer(value)) managed = { kind: 'consumer', resource: value };
  else if (typeof (value as Partial<Closable>).close === 'function')
    managed = { kind: 'closable', resource: value as Closable };
  else {
    throw new InvalidArgumentError(
      'lifecycle.manage() takes an object with close(), a Registration, a queue consumer, an http.Server or a Fastify instance (wrap anything else as { close: () => ... })',
      { argument: 'resource' },
    );
  }
  return { ...managed, name: name ?? defaultName(value, managed.kind) } as Managed;
}
