/**
 * The coordinator of a service's start and stop. Its states:
 *
 * ```text
 *   STARTING ── markReady() ──> READY ── shutdown(), a signal, close() ──> STOPPING ──> STOPPED
 *   (startReady: false)          │  ▲                                        │
 *                                │  └ markReady()                            │ the deadline passes:
 *                                └── markNotReady() ─> NOT READY             ▼ FORCING (sockets destroyed,
 *                                                                              later steps not waited for)
 * ```
 *
 * STOPPING runs the steps of `shutdown-report.ts` in order, each timed and
 * reported (`step-start`, `step-end`); one that throws is reported
 * `failed` and the stop goes on; the deadline bounds them all. Why this
 * order: traffic is turned away first (readiness, the registry's
 * announcement), then the listener closes once load balancers have caught
 * up, then what was accepted finishes (HTTP requests, queue messages), and
 * only then the primitives those handlers use are closed, dependents
 * before what they depend on.
 *
 * @module
 */
import { AbortedError, InvalidArgumentError, TimeoutError } from '../errors.js';
import { waitOrAbort } from '../internal/abort.js';
import { TypedEmitter } from '../internal/events.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { longTimeout } from '../internal/timers.js';
import { optionsChecker } from '../internal/validate.js';
import type { Clock, Logger } from '../types.js';
import {
  type HealthCheck,
  type HealthCheckOptions,
  HealthChecks,
  type HealthReport,
} from './health-checks.js';
import { HttpDrain, type HttpServerLike } from './http-drain.js';
import { classify, type Managed } from './managed-resource.js';
import { primitiveCheck } from './primitive-checks.js';
import { probeResponder } from './probe-responder.js';
import { checkListener, type ServiceLifecycleEvents } from './service-lifecycle-events.js';
import {
  type FastifyLike,
  isFastifyLike,
  type ResolvedLifecycleOptions,
  resolveLifecycleOptions,
  type ServiceLifecycleOptions,
  type ShutdownSignal,
} from './service-lifecycle-options.js';
import type { ShutdownReport, ShutdownStep, StepOutcome, StepReport } from './shutdown-report.js';
import { FORCED, raceForce } from './stop-force.js';

const checkManageOptions = optionsChecker({
  where: 'lifecycle.manage() options',
  keys: ['name', 'check'],
  hints: { label: 'name', health: 'check' },
});

/**
 * Options of {@link ServiceLifecycle.manage}.
 *
 * @example
 * ```ts
 * lifecycle.manage(cache, { name: 'cache', check: false });
 * ```
 */
export interface ManageOptions {
  /** The name in reports, events and `/health`. @default the class name */
  name?: string;
  /** Whether the primitive's own state becomes a readiness check (when it has one). @default true */
  check?: boolean;
}

/**
 * Stops a service without dropping work, and tells load balancers when it
 * can take traffic. On `shutdown()` (or SIGTERM/SIGINT, opt-in): readiness
 * answers 503, registrations are deregistered, the servers keep serving
 * for `drainDelayMs` with `Connection: close`, then stop accepting
 * connections; requests in flight finish (idle keep-alive sockets are
 * closed at once, busy ones after their response, a late request is
 * refused with a 503 marked `x-scaleout-draining` that clients retry
 * elsewhere); queue consumers finish and acknowledge the messages they
 * hold; then every managed primitive is closed, last managed first. All
 * within `deadlineMs`, after which it forces and reports the step that
 * overran. Exit code 0 on a clean stop (`process.exit` only with
 * `exitProcess: true`).
 *
 * Serves `/live`, `/ready` and `/health` on every managed server (node:http,
 * Express, Fastify, Koa) before any routing, computed from the managed
 * primitives' own state and the checks added with `addCheck`.
 *
 * @example
 * ```ts
 * import { ServiceLifecycle } from 'scaleout';
 *
 * const server = app.listen(3000);
 * const lifecycle = new ServiceLifecycle({ servers: [server], signals: ['SIGTERM', 'SIGINT'], exitProcess: true });
 * lifecycle.manage(registry);
 * lifecycle.manage(cache);
 * lifecycle.manage(await registry.register('orders', 'http://10.0.0.7:3000'));
 * lifecycle.manage(await queue.consume('order.created', handle));
 * ```
 */
export class ServiceLifecycle {
  readonly #options: ResolvedLifecycleOptions;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #events: TypedEmitter<ServiceLifecycleEvents>;
  readonly #life = new Lifecycle('the service lifecycle');
  readonly #checks: HealthChecks;
  readonly #drains: HttpDrain[] = [];
  readonly #managed: Managed[] = [];
  readonly #signalHandlers = new Map<ShutdownSignal, () => void>();
  readonly #force = new AbortController();
  /** What forced the stop: the second signal's name, or undefined for the deadline. */
  #forcedBySignal: ShutdownSignal | undefined;
  #ready: boolean;
  #stopping: Promise<ShutdownReport> | undefined;
  /** Whether a signal has been received (a second one forces the stop). */
  #signalled = false;

  constructor(options: ServiceLifecycleOptions = {}) {
    this.#options = resolveLifecycleOptions(options);
    this.#clock = this.#options.clock;
    this.#logger = this.#options.logger;
    this.#events = new TypedEmitter(this.#logger);
    this.#checks = new HealthChecks(this.#clock, this.#options.checkTimeoutMs);
    this.#ready = this.#options.startReady;
    for (const server of this.#options.servers) {
      if (isFastifyLike(server)) this.#attach(server.server, server);
      else this.#attach(server);
    }
    for (const signal of this.#options.signals) {
      const handler = (): void => this.#onSignal(signal);
      this.#signalHandlers.set(signal, handler);
      process.on(signal, handler);
    }
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * lifecycle.on('step-end', (s) => log.info('stop step', { step: s.step, name: s.name, ms: s.durationMs }));
   * ```
   */
  on<K extends keyof ServiceLifecycleEvents>(
    event: K,
    listener: (payload: ServiceLifecycleEvents[K]) => void,
  ): () => void {
    checkListener(event, listener);
    return this.#events.on(event, listener);
  }

  /**
   * Removes a listener added with {@link on}.
   *
   * @example
   * ```ts
   * lifecycle.off('stopped', onStopped);
   * ```
   */
  off<K extends keyof ServiceLifecycleEvents>(
    event: K,
    listener: (payload: ServiceLifecycleEvents[K]) => void,
  ): void {
    checkListener(event, listener);
    this.#events.off(event, listener);
  }

  /** Whether the stop has started. */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  /**
   * Hands a resource to the coordinator; returns it. A node HTTP server is
   * drained (a Fastify instance too, stopped through `fastify.close()` so
   * its hooks run); a registry `Registration` is deregistered early in the stop;
   * a queue consumer is stopped once its messages in flight are
   * acknowledged; anything else with `close()` (every primitive) is closed
   * at the end, last managed first: manage a primitive after what it
   * depends on (the registry before the client that uses it). A primitive
   * with observable state (cache, registry, queue, lock, session store)
   * also becomes a readiness check, unless `check: false`.
   *
   * @example
   * ```ts
   * const cache = lifecycle.manage(new DistributedCache({ adapter }), { name: 'cache' });
   * ```
   */
  manage<T extends object>(resource: T, options: ManageOptions = {}): T {
    this.#life.assertOpen();
    checkManageOptions(options);
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length > 100)) {
      throw new InvalidArgumentError('name must be a string of at most 100 characters', { argument: 'name' });
    }
    if (this.#stopping !== undefined) {
      throw new InvalidArgumentError('lifecycle.manage() after the stop started: nothing would close it', {
        argument: 'resource',
      });
    }
    const managed = classify(resource, options.name);
    if (this.#managed.some((m) => m.resource === managed.resource)) return resource;
    this.#managed.push(managed);
    if (managed.kind === 'server') this.#attach(managed.resource, managed.app);
    if (options.check !== false) {
      const check = primitiveCheck(managed.resource, this.#clock);
      if (check !== undefined) {
        // Two unnamed caches are both "DistributedCache": number the second.
        let name = managed.name;
        for (let n = 2; this.#checks.has(name); n++) name = `${managed.name} #${n}`;
        this.#checks.add(name, check);
      }
    }
    return resource;
  }

  /**
   * Adds a readiness check (a database ping, a warm-up): run on every
   * `/ready` and `/health` with its own timeout; a failing critical check
   * turns readiness 503.
   *
   * @example
   * ```ts
   * lifecycle.addCheck('postgres', ({ signal }) => pool.query('select 1', { signal }), { timeoutMs: 500 });
   * ```
   */
  addCheck(name: string, check: HealthCheck, options: HealthCheckOptions = {}): void {
    this.#life.assertOpen();
    this.#checks.add(name, check, options);
  }

  /**
   * Declares the service ready (with `startReady: false`, once it has
   * warmed up). Ignored once the stop has started.
   *
   * @example
   * ```ts
   * await registry.watch('pricing');
   * lifecycle.markReady();
   * ```
   */
  markReady(): void {
    this.#setReady(true);
  }

  /**
   * Turns readiness 503 without stopping (a maintenance window).
   *
   * @example
   * ```ts
   * lifecycle.markNotReady();
   * ```
   */
  markNotReady(): void {
    this.#setReady(false);
  }

  /**
   * Runs every check and reports: what `/health` answers.
   *
   * @example
   * ```ts
   * const { ready, checks } = await lifecycle.health();
   * ```
   */
  async health(): Promise<HealthReport> {
    if (this.#stopping !== undefined) return { status: 'stopping', live: true, ready: false, checks: [] };
    const checks = await this.#checks.run();
    const criticalFails = checks.some((c) => c.critical && !c.ok);
    const ready = this.#ready && !criticalFails && this.#stopping === undefined;
    const status = !ready ? 'unready' : checks.some((c) => !c.ok) ? 'degraded' : 'ok';
    return { status, live: true, ready, checks };
  }

  /**
   * Stops the service (the steps of the module notes); resolves with the
   * report. Idempotent: every call gets the same promise. Never rejects: a
   * step that throws is reported `failed` and the stop goes on.
   *
   * @example
   * ```ts
   * const report = await lifecycle.shutdown();
   * process.exitCode = report.exitCode;
   * ```
   */
  shutdown(reason = 'shutdown()'): Promise<ShutdownReport> {
    this.#stopping ??= this.#run(typeof reason === 'string' ? reason.slice(0, 100) : 'shutdown()');
    return this.#stopping;
  }

  /**
   * Runs the stop if it has not run, then releases the signal handlers and
   * the servers' hooks. Idempotent.
   *
   * @example
   * ```ts
   * await lifecycle.close();
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      await this.shutdown('close()');
      this.#detach();
    });
  }

  /**
   * Same as {@link close}.
   *
   * @example
   * ```ts
   * await using lifecycle = new ServiceLifecycle({ servers: [server] });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #attach(server: HttpServerLike, app?: FastifyLike): void {
    // A Fastify app stops through its own close(): preClose hooks, the server, onClose hooks.
    const closer =
      app === undefined
        ? undefined
        : (done: (err?: unknown) => void) => {
            Promise.resolve(app.close()).then(() => done(), done);
          };
    const attached = this.#drains.find((d) => d.server === server);
    if (attached !== undefined) {
      if (closer !== undefined) attached.closeWith(closer);
      return;
    }
    const o = this.#options;
    const probe = probeResponder(this, {
      livePath: o.livePath,
      readyPath: o.readyPath,
      healthPath: o.healthPath,
    });
    this.#drains.push(new HttpDrain(server, probe, closer));
  }

  #detach(): void {
    for (const [signal, handler] of this.#signalHandlers) process.off(signal, handler);
    this.#signalHandlers.clear();
    for (const drain of this.#drains) drain.detach();
  }

  #setReady(ready: boolean): void {
    if (this.#stopping !== undefined || this.#ready === ready) return;
    this.#ready = ready;
    this.#events.emit('readiness', { ready });
  }

  #onSignal(signal: ShutdownSignal): void {
    const first = !this.#signalled;
    this.#signalled = true;
    // The first signal starts the stop, or joins one that shutdown() started (a preStop hook
    // that called it, then the kubelet's SIGTERM): only a second signal means "stop waiting".
    if (first) {
      void this.shutdown(signal);
      return;
    }
    // A second signal: do not wait any longer.
    this.#logger?.warn?.('second signal during the stop: forcing', { signal });
    if (!this.#force.signal.aborted) this.#forcedBySignal = signal;
    this.#forceNow();
  }

  #forceNow(): void {
    if (this.#force.signal.aborted) return;
    this.#force.abort();
    for (const drain of this.#drains) drain.force();
  }

  async #run(reason: string): Promise<ShutdownReport> {
    const clock = this.#clock;
    const started = clock.monotonic();
    const steps: StepReport[] = [];
    const deadlineMs = this.#options.deadlineMs;
    let current: { step: ShutdownStep; name: string } = { step: 'not-ready', name: 'not-ready' };
    const deadline = longTimeout(() => {
      this.#events.emit('deadline', { ...current, deadlineMs });
      this.#logger?.warn?.('stop deadline passed: forcing', { step: current.step, name: current.name });
      this.#forceNow();
    }, deadlineMs);
    // Not unref()'d, unlike the library's background timers: the stop holds the process until it
    // ends (cleared below), else a process with no other handle left (the listener closed, a
    // SIGTERM handler that let go) would exit mid-stop, its drain delay and closes never run.
    this.#events.emit('shutdown', { reason });
    if (this.#ready) this.#events.emit('readiness', { ready: false });
    const forced = this.#force.signal;

    const step = async (name: ShutdownStep, label: string, work: () => unknown): Promise<void> => {
      current = { step: name, name: label };
      this.#events.emit('step-start', current);
      const t0 = clock.monotonic();
      const startedForced = forced.aborted;
      let outcome: StepOutcome = startedForced ? 'forced' : 'done';
      let error: unknown;
      try {
        const running = Promise.resolve().then(work);
        if (startedForced) running.catch(() => {});
        else await raceForce(running, forced);
        if (!startedForced && forced.aborted) outcome = 'overran';
      } catch (err) {
        if (err === FORCED) {
          outcome = 'overran';
          const by = this.#forcedBySignal;
          error =
            by === undefined
              ? new TimeoutError(`step ${name} (${label}) overran the stop deadline of ${deadlineMs} ms`, {
                  timeoutMs: deadlineMs,
                })
              : new AbortedError(`step ${name} (${label}) was forced by a second ${by} before it ended`);
        } else {
          outcome = 'failed';
          error = err;
        }
      }
      const report: StepReport = {
        step: name,
        name: label,
        outcome,
        durationMs: Math.round(clock.monotonic() - t0),
        ...(error === undefined ? {} : { error }),
      };
      steps.push(report);
      this.#events.emit('step-end', report);
    };

    const of = <K extends Managed['kind']>(kind: K) =>
      this.#managed.filter((m): m is Extract<Managed, { kind: K }> => m.kind === kind);

    await step('not-ready', 'not-ready', () => {
      for (const drain of this.#drains) drain.draining();
    });
    const registrations = of('registration');
    if (registrations.length > 0) {
      await step('deregister', 'deregister', () =>
        Promise.all(registrations.map((r) => r.resource.deregister())),
      );
    }
    if (this.#options.drainDelayMs > 0) {
      await step('drain-delay', 'drain-delay', () => waitOrAbort(this.#options.drainDelayMs, forced).passed);
    }
    await step('stop-accepting', 'stop-accepting', () => {
      for (const drain of this.#drains) drain.stopAccepting();
    });
    if (this.#drains.length > 0) {
      await step('drain-http', 'drain-http', () => Promise.all(this.#drains.map((d) => d.drained())));
    }
    const consumers = of('consumer');
    if (consumers.length > 0) {
      await step('stop-consumers', 'stop-consumers', () =>
        // The deadline's signal: a consumer still draining then lets go.
        Promise.all(consumers.map((c) => c.resource.close({ signal: forced }))),
      );
    }
    for (const m of [...of('closable')].reverse()) {
      await step('close', m.name, () => m.resource.close());
    }
    deadline.cancel();
    const overran = steps.filter((s) => s.outcome === 'overran').map((s) => `${s.step}:${s.name}`);
    const clean = steps.every((s) => s.outcome === 'done');
    const report: ShutdownReport = {
      reason,
      clean,
      exitCode: clean ? 0 : 1,
      durationMs: Math.round(clock.monotonic() - started),
      steps,
      overran,
      refusedRequests: this.#drains.reduce((n, d) => n + d.refused, 0),
    };
    this.#events.emit('stopped', report);
    for (const [signal, handler] of this.#signalHandlers) process.off(signal, handler);
    this.#signalHandlers.clear();
    if (this.#options.exitProcess) process.exit(report.exitCode);
    return report;
  }
}
