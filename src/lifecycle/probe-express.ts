import type { RequestHandler } from 'express';
import { probeRoutes } from './probe-handler.js';
import { answerProbe, type HealthSource } from './probe-responder.js';
import type { ProbePaths } from './service-lifecycle-options.js';

/**
 * Express middleware answering the probes of `lifecycle`: `GET`/`HEAD` on
 * `/live` (200 while the process runs), `/ready` (200, or 503 before
 * `markReady()`, while stopping or when a critical check fails) and
 * `/health` (the detailed report as JSON); 405 for another method on those
 * paths; any other request goes on to `next()`. Paths are relative to
 * where it is mounted. Use it when the probes should go through your
 * middleware (a router prefix, access logs), with `probes: false` on the
 * lifecycle so its own hook on the server does not answer them first.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { ServiceLifecycle } from 'scaleout';
 * import { probeMiddleware } from 'scaleout/express';
 *
 * const app = express();
 * const server = app.listen(3000);
 * const lifecycle = new ServiceLifecycle({ servers: [server], probes: false });
 * app.use(probeMiddleware(lifecycle, { livePath: '/healthz', readyPath: '/readyz' }));
 * ```
 */
export function probeMiddleware(lifecycle: HealthSource, options: ProbePaths = {}): RequestHandler {
  const paths = probeRoutes('probeMiddleware()', lifecycle, options);
  return (req, res, next) => {
    const answer = answerProbe(lifecycle, paths, req.method, req.path);
    if (answer === undefined) {
      next();
      return;
    }
    void Promise.resolve(answer).then((a) => {
      if (res.headersSent) return;
      // send() leaves the body out of a HEAD answer and keeps its length.
      res.status(a.status).set(a.headers).send(a.body);
    }, next);
  };
}
