import type { Middleware } from 'koa';
import { probeRoutes } from './probe-handler.js';
import { answerProbe, type HealthSource } from './probe-responder.js';
import type { ProbePaths } from './service-lifecycle-options.js';

/**
 * Koa middleware answering the probes of `lifecycle`: `GET`/`HEAD` on
 * `/live` (200 while the process runs), `/ready` (200, or 503 before
 * `markReady()`, while stopping or when a critical check fails) and
 * `/health` (the detailed report as JSON); 405 for another method on those
 * paths; any other request goes on to `next()`. Use it when the probes
 * should go through your middleware, with `probes: false` on the lifecycle
 * so its own hook on the server does not answer them first.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { ServiceLifecycle } from 'scaleout';
 * import { probeMiddleware } from 'scaleout/koa';
 *
 * const app = new Koa();
 * const lifecycle = new ServiceLifecycle({ probes: false });
 * app.use(probeMiddleware(lifecycle));
 * lifecycle.manage(app.listen(3000));
 * ```
 */
export function probeMiddleware(lifecycle: HealthSource, options: ProbePaths = {}): Middleware {
  const paths = probeRoutes('probeMiddleware()', lifecycle, options);
  return async (ctx, next) => {
    const answer = answerProbe(lifecycle, paths, ctx.method, ctx.path);
    if (answer === undefined) return next();
    const a = await answer;
    ctx.status = a.status;
    ctx.set(a.headers as Record<string, string>);
    // The Content-Type set above stays; Koa sends no body for HEAD and keeps the GET answer's length.
    ctx.body = a.body;
  };
}
