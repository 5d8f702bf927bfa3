import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';
import { type HealthSource, probeResponder, type ResolvedProbePaths } from './probe-responder.js';
import { type ProbePaths, probePath, SERVICE_LIFECYCLE_DEFAULTS } from './service-lifecycle-options.js';

const checkRouteOptions = optionsChecker({
  where: 'probe paths options',
  keys: ['livePath', 'readyPath', 'healthPath'],
  hints: { live: 'livePath', ready: 'readyPath', health: 'healthPath', path: 'livePath' },
});

/**
 * @internal Checks the arguments of a probe export (`probeHandler`, the
 * Express, Fastify and Koa ones) and resolves its paths: the given ones,
 * else `/live`, `/ready` and `/health` (whatever the lifecycle's `probes`
 * option, which only governs the hook on its managed servers).
 */
export function probeRoutes(where: string, source: unknown, options: unknown): ResolvedProbePaths {
  if (
    typeof source !== 'object' ||
    source === null ||
    typeof (source as Partial<HealthSource>).health !== 'function'
  ) {
    throw new InvalidArgumentError(`${where} takes a ServiceLifecycle (anything with health())`, {
      argument: 'lifecycle',
    });
  }
  checkRouteOptions(options);
  const o = (options ?? {}) as ProbePaths;
  const d = SERVICE_LIFECYCLE_DEFAULTS;
  return {
    livePath: probePath('livePath', o.livePath, d.livePath),
    readyPath: probePath('readyPath', o.readyPath, d.readyPath),
    healthPath: probePath('healthPath', o.healthPath, d.healthPath),
  };
}

/**
 * A node:http handler for the probes: answers `GET`/`HEAD` on `/live`,
 * `/ready` and `/health` (405 for another method on those paths) and
 * returns `true`; returns `false` for any other path, which your handler
 * then serves. For a server the lifecycle does not manage (a separate
 * admin port), or paths of your own; a managed server answers the probes
 * already.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { ServiceLifecycle, probeHandler } from 'scaleout';
 *
 * const lifecycle = new ServiceLifecycle();
 * const probes = probeHandler(lifecycle, { livePath: '/healthz', readyPath: '/readyz' });
 * const admin = http.createServer((req, res) => {
 *   if (probes(req, res)) return;
 *   res.writeHead(404).end();
 * });
 * admin.listen(9090);
 * ```
 */
export function probeHandler(
  lifecycle: HealthSource,
  options: ProbePaths = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const respond = probeResponder(lifecycle, probeRoutes('probeHandler()', lifecycle, options));
  return (req, res) => respond(req, res);
}
