import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { probeRoutes } from './probe-handler.js';
import { answerProbe, type HealthSource } from './probe-responder.js';
import type { ProbePaths } from './service-lifecycle-options.js';

/** Methods answered 405 on a probe path (GET and HEAD are the probes). */
const OTHER_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * A Fastify plugin registering the probe routes of `lifecycle`: `GET` (and
 * the `HEAD` Fastify adds) on `/live` (200 while the process runs),
 * `/ready` (200, or 503 before `markReady()`, while stopping or when a
 * critical check fails) and `/health` (the detailed report as JSON); 405
 * for POST, PUT, PATCH and DELETE on them. The routes go through your hooks
 * and take the prefix the plugin is registered with. Use it with
 * `probes: false` on the lifecycle, so its own hook on the server does not
 * answer them first; manage the Fastify instance itself so the stop goes
 * through `fastify.close()` (its `preClose` and `onClose` hooks).
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { ServiceLifecycle } from 'scaleout';
 * import { probePlugin } from 'scaleout/fastify';
 *
 * const app = Fastify();
 * const lifecycle = new ServiceLifecycle({ probes: false });
 * await app.register(probePlugin(lifecycle));
 * await app.listen({ port: 3000 });
 * lifecycle.manage(app);
 * ```
 */
export function probePlugin(lifecycle: HealthSource, options: ProbePaths = {}): FastifyPluginCallback {
  const paths = probeRoutes('probePlugin()', lifecycle, options);
  // `url` is the probe path as registered (the plugin's prefix, if any, is Fastify's).
  const handler = async (
    request: FastifyRequest,
    reply: FastifyReply,
    url: string,
  ): Promise<FastifyReply> => {
    const answer = (await answerProbe(lifecycle, paths, request.method, url))!;
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  };
  const plugin: FastifyPluginCallback = (instance, _opts, done) => {
    for (const url of [paths.livePath, paths.readyPath, paths.healthPath]) {
      if (url === false) continue;
      instance.route({ method: 'GET', url, handler: (req, reply) => handler(req, reply, url) });
      instance.route({ method: [...OTHER_METHODS], url, handler: (req, reply) => handler(req, reply, url) });
    }
    done();
  };
  Object.assign(plugin, { [Symbol.for('fastify.display-name')]: 'scaleout-probes' });
  return plugin;
}
