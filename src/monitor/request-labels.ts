import { InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';

/**
 * Labels of one request. `route` must be a route template (`/users/:id`), never the raw path.
 *
 * @example
 * ```ts
 * monitor.recordResponse(start, 200, { method: 'GET', route: '/users/:id' });
 * ```
 */
export interface RequestLabels {
  /** HTTP method; unknown methods are labelled `OTHER`. @default 'OTHER' */
  method?: string | undefined;
  /** Route template. @default 'unknown' */
  route?: string | undefined;
}

/** @internal The closed set of `method` label values, by index; `OTHER` last. */
export const METHODS: readonly string[] = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'OTHER',
];
const METHOD_INDEX = new Map(METHODS.map((m, i) => [m, i]));
const OTHER_METHOD = METHODS.length - 1;
/** @internal The status index of a status outside 100..599 (label `invalid`). */
export const INVALID_STATUS = 600;
/** @internal Status indexes 601..606: the overflow series per status class (1xx..5xx, invalid). */
export const OVERFLOW_STATUS = 601;
/** @internal The `method` and `route` label of the overflow series. */
export const OVERFLOW = '__overflow__';
const MAX_ROUTE_LENGTH = 200;

/** @internal The index of a method label in {@link METHODS}; anything unknown is `OTHER`. */
export function methodIndex(method: unknown): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    default:
      if (typeof method !== 'string') return OTHER_METHOD;
      return METHOD_INDEX.get(method) ?? METHOD_INDEX.get(method.toUpperCase()) ?? OTHER_METHOD;
  }
}

/** @internal A status code 100..599 as itself, anything else as {@link INVALID_STATUS}. */
export function statusIndex(status: unknown): number {
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599
    ? status
    : INVALID_STATUS;
}

/** @internal The `route` label: `unknown` for a missing route, long ones truncated. */
export function routeLabel(route: unknown): string {
  if (typeof route !== 'string' || route.length === 0) return 'unknown';
  return route.length > MAX_ROUTE_LENGTH ? route.slice(0, MAX_ROUTE_LENGTH) : route;
}

/** @internal The `statusCodes` key of a status index: `200`, `invalid`, or a class (`5xx`) past the cap. */
export function statusCodeKey(s: number): string {
  if (s < INVALID_STATUS) return String(s);
  return s === INVALID_STATUS || s === OVERFLOW_STATUS + 5 ? 'invalid' : `${s - INVALID_STATUS}xx`;
}

const checkLabelKeys = optionsChecker({
  where: 'request labels',
  keys: ['method', 'route'],
  hints: { path: 'route', url: 'route', verb: 'method' },
});
const checkBoundLabelKeys = optionsChecker({
  where: 'monitor.bind() labels',
  keys: ['method', 'route', 'status'],
  hints: { path: 'route', url: 'route', verb: 'method', statusCode: 'status', code: 'status' },
});

/**
 * @internal Checks the labels of `recordResponse()` (or `bind()`, with
 * `status`): `undefined` or a plain object with only the known keys; a
 * typo such as `{ path }` would otherwise label every request `unknown`.
 */
export function checkRequestLabels(labels: unknown, withStatus = false): void {
  if (withStatus) {
    if (labels === undefined)
      throw new InvalidOptionsError('monitor.bind() needs labels ({ method, route, status })', {});
    checkBoundLabelKeys(labels);
  } else {
    checkLabelKeys(labels);
  }
}
