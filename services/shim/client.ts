/**
 * The shim's client, for containerd (the only layer above it).
 *
 * @example
 *   const shim = connectShim(cfg);
 *   const task = await shim.call('GetTask', { id });
 */
import type { Config } from '../../common/config.js';
import { connect, loadContract, type LayerClient } from '../../common/grpc.js';
import type { ProtoGrpcType } from '../../common/proto-types/shim.js';
import type { ShimClient } from '../../common/proto-types/tersane/shim/v1/Shim.js';

export type { ShimClient };

export function connectShim(cfg: Config): LayerClient<ShimClient> {
  const contract = loadContract<ProtoGrpcType>('shim');
  return connect('shim', cfg.socket('shim'), contract.tersane.shim.v1.Shim, cfg.layerWaitMs);
}
