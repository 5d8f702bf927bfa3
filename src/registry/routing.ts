/**
 * Routing: which instance of a loaded view a call goes to. The balancer
 * picks among the view's candidates, rebuilt only when something changed
 * (membership, a health verdict, an ejection starting or running out):
 *
 * - **routable** instances are healthy and not ejected; they are the
 *   candidates, unless
 * - **panic**: fewer than `panicThresholdPercent` of the instances are
 *   routable, and then every instance is a candidate (an outage of the
 *   health checks or a wave of ejections must not become an outage of the
 *   service); the `panic` event tells when it starts and ends;
 * - **slow start**: an instance re-admitted (after failing health checks or
 *   an ejection) gets a share of picks that grows from 10% to 100% over
 *   `slowStartMs`: when the balancer picks it, the pick is kept with that
 *   probability, else the balancer picks again without it.
 *
 * @module
 */
import { NoInstancesError } from '../errors.js';
import type { InstanceState } from './instance-state.js';
import { endEjectionIfDue } from './outlier-detection.js';
import type { RegistryContext } from './registry-context.js';
import type { ServiceView } from './service-view.js';

/** The share of picks a re-admitted instance keeps at the start of its slow start. */
const WARM_FLOOR = 0.1;

/**
 * Options of {@link ServiceRegistry.pick}, {@link ServiceRegistry.startCall} and {@link ServiceRegistry.getServiceInstance}.
 *
 * @example
 * ```ts
 * const retry = registry.pick('pricing', { exclude: [first.id] });
 * ```
 */
export interface PickOptions {
  /** Instance ids not to pick (already tried by this request). */
  exclude?: ReadonlySet<string> | Iterable<string>;
}

/**
 * @internal Picks an instance of a loaded view for one call, never waiting:
 * rebuilds the candidates first if they changed or an ejection ran out
 * (`now` is monotonic). Throws `NoInstancesError` when the view is empty
 * or every instance is excluded.
 *
 * @example
 * ```ts
 * const state = route(view, options.exclude, clock.monotonic(), ctx);
 * ```
 */
export function route(
  view: ServiceView,
  exclude: PickOptions['exclude'],
  now: number,
  ctx: RegistryContext,
): InstanceState {
  if (view.nextUnejectAt !== 0 && now >= view.nextUnejectAt) view.dirty = true;
  if (view.dirty) rebuild(view, now, ctx);
  const candidates = view.candidates;
  if (candidates.length === 0)
    throw new NoInstancesError(`no instance of ${view.service} is registered`, { service: view.service });
  const excluded = toSet(exclude);
  let chosen = view.balancer.pick(candidates, excluded) as InstanceState | undefined;
  if (chosen === undefined) {
    throw new NoInstancesError(`every instance of ${view.service} is excluded`, { service: view.service });
  }
  if (chosen.warmUntil > now && candidates.length > 1) {
    const ramp = (now - chosen.warmFrom) / (chosen.warmUntil - chosen.warmFrom);
    if (Math.random() >= WARM_FLOOR + (1 - WARM_FLOOR) * ramp) {
      const skip = new Set(excluded ?? []);
      skip.add(chosen.instance.id);
      chosen = (view.balancer.pick(candidates, skip) as InstanceState | undefined) ?? chosen;
    }
  }
  return chosen;
}

/** Rebuilds the candidates: lets back instances whose ejection ran out, then applies the panic threshold. */
function rebuild(view: ServiceView, now: number, ctx: RegistryContext): void {
  view.dirty = false;
  let nextUneject = 0;
  const all: InstanceState[] = [];
  const routable: InstanceState[] = [];
  for (const s of view.states.values()) {
    all.push(s);
    if (endEjectionIfDue(s, now)) {
      s.startWarmUp(now, ctx.settings.slowStartMs);
      ctx.events.emit('ejection', {
        service: view.service,
        instance: s.instance,
        ejected: false,
        durationMs: 0,
      });
    }
    if (s.ejectedUntil !== 0 && (nextUneject === 0 || s.ejectedUntil < nextUneject))
      nextUneject = s.ejectedUntil;
    if (s.healthy && s.ejectedUntil === 0) routable.push(s);
  }
  view.nextUnejectAt = nextUneject;
  const panic = all.length > 0 && routable.length < all.length * ctx.settings.panicThreshold;
  view.candidates = panic ? all : routable;
  view.balancer.reset(view.candidates);
  if (panic !== view.panic) {
    view.panic = panic;
    ctx.events.emit('panic', {
      service: view.service,
      active: panic,
      routable: routable.length,
      total: all.length,
    });
  }
}

function toSet(exclude: PickOptions['exclude']): ReadonlySet<string> | undefined {
  if (exclude === undefined) return undefined;
  if (exclude instanceof Set) return exclude;
  return new Set(exclude);
}
