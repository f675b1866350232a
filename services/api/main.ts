/**
 * The api service: the Docker Engine API on the Docker socket, translating HTTP to the daemon's
 * gRPC contract. It keeps no state of its own (no migrations): restart it at will.
 */
import { runService } from '../../common/service.js';
import { connectDaemon } from '../daemon/client.js';
import { daemonBackends } from './daemon-backend.js';
import { startApiServer } from './server.js';

runService({
  layer: 'api',
  migrations: [],
  async start(ctx) {
    const daemon = connectDaemon(ctx.config);
    const server = await startApiServer(ctx.config, {
      log: ctx.log,
      backends: daemonBackends(daemon, ctx.log, ctx.events, ctx.config.layerWaitMs),
      debug: ctx.config.logLevel === 'debug',
      metrics: ctx.metrics,
    });
    return {
      async stop() {
        await server.close();
        daemon.close();
      },
    };
  },
});
