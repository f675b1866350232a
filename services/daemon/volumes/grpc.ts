/** The gRPC adapter of the Volumes service (proto/daemon.proto): thin handlers over service.ts. */
import { invalidArgument } from '../../../common/errors.js';
import { unary } from '../../../common/grpc.js';
import type { VolumesHandlers } from '../../../common/proto-types/tersane/daemon/v1/Volumes.js';
import type { VolumeCreate, VolumeService } from './service.js';

function json(value: unknown) {
  return { json: Buffer.from(JSON.stringify(value)) };
}

function parseCreate(raw: Buffer): VolumeCreate {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as VolumeCreate;
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${(err as Error).message}`);
  }
}

export function volumesHandlers(volumes: VolumeService): VolumesHandlers {
  return {
    Create: unary(async (req) => json(volumes.create(parseCreate(req.config_json)).doc)),
    Inspect: unary(async (req) => json(volumes.inspect(req.name))),
    List: unary(async (req) => json(volumes.list(req.filters))),
    Remove: unary(async (req) => {
      volumes.remove(req.name, req.force);
      return {};
    }),
    Prune: unary(async (req) => json(volumes.prune(req.filters, req.api_version))),
  };
}
