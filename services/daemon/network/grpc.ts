/** The gRPC adapter of the Networks service (proto/daemon.proto): thin handlers over service.ts. */
import { unary } from '../../../common/grpc.js';
import type { NetworksHandlers } from '../../../common/proto-types/tersane/daemon/v1/Networks.js';
import type { NetworkService } from './service.js';

function json(value: unknown) {
  return { json: Buffer.from(JSON.stringify(value)) };
}

export function networksHandlers(networks: NetworkService): NetworksHandlers {
  return {
    Create: unary(async (req) => json(await networks.create(req.config_json))),
    Inspect: unary(async (req) => json(networks.inspect(req.id))),
    List: unary(async (req) => json(networks.list(req.filters))),
    Remove: unary(async (req) => {
      await networks.remove(req.id);
      return {};
    }),
    Connect: unary(async (req) => {
      await networks.connect(req.network, req.config_json);
      return {};
    }),
    Disconnect: unary(async (req) => {
      await networks.disconnect(req.network, req.config_json);
      return {};
    }),
    Prune: unary(async (req) => json(await networks.prune(req.filters))),
  };
}
