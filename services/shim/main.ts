/**
 * The shim service: supervises every task through its per-container monitor.
 * Wiring only: store → task manager → re-adopt the monitors that exist → serve.
 */
import { loadContract, serve, shutdown } from '../../common/grpc.js';
import { runService } from '../../common/service.js';
import type { ProtoGrpcType } from '../../common/proto-types/shim.js';
import { shimHandlers } from './grpc.js';
import { SHIM_MIGRATIONS, TaskStore } from './store.js';
import { TaskManager } from './tasks.js';
import { ExecManager } from './execs.js';

runService({
  layer: 'shim',
  migrations: SHIM_MIGRATIONS,
  async start(ctx) {
    const tasks = new TaskManager(ctx, new TaskStore(ctx.db));
    await tasks.adopt();
    const contract = loadContract<ProtoGrpcType>('shim').tersane.shim.v1;
    const server = await serve(ctx.config.socket('shim'), [[contract.Shim.service, shimHandlers(tasks, new ExecManager(tasks)) as never]]);
    return { stop: () => shutdown(server) };
  },
});
