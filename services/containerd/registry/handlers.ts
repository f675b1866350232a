/**
 * The registry part of containerd's Images contract (Pull, Push, Login) and Usage, for grpc.ts to
 * spread into its handlers: translation only, the logic is in pull.ts, push.ts, login.ts, ../usage.ts.
 */
import { serverStream, unary } from '../../../common/grpc.js';
import type { RegistryAuth__Output } from '../../../common/proto-types/tersane/common/v1/RegistryAuth.js';
import type { ImagesHandlers } from '../../../common/proto-types/tersane/containerd/v1/Images.js';
import type { ImageService } from '../images.js';
import { diskUsage } from '../usage.js';
import type { Credentials } from './auth.js';
import { login } from './login.js';
import { pullImage } from './pull.js';
import { pushImage } from './push.js';
import { registryConfig } from './settings.js';
import { containerdMetrics } from '../metrics.js';
import { callSignal } from '../../../common/grpc-streams.js';

export function credentialsOf(auth: RegistryAuth__Output | null | undefined): Credentials {
  return {
    username: auth?.username || undefined,
    password: auth?.password || undefined,
    identityToken: auth?.identity_token || undefined,
    registryToken: auth?.registry_token || undefined,
  };
}

export function registryHandlers(images: ImageService, unpackBinary: string): Pick<ImagesHandlers, 'Pull' | 'Push' | 'Login' | 'Usage'> {
  const config = registryConfig(unpackBinary);
  return {
    Pull: serverStream(async (req, call) => {
      const signal = callSignal(call, 'the pull was cancelled');
      const begin = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - begin) / 1e9;
      let pulled;
      try {
        pulled = await pullImage(images, { ref: req.ref, platform: req.platform, creds: credentialsOf(req.auth), signal }, config.pull, (p) => call.write(p));
      } catch (err) {
        containerdMetrics()?.pullSeconds.observe({ outcome: 'failure' }, seconds());
        throw err;
      }
      containerdMetrics()?.pullSeconds.observe({ outcome: 'success' }, seconds());
      call.write({ pulled });
    }),
    Push: serverStream(async (req, call) => {
      const signal = callSignal(call, 'the pull was cancelled');
      await pushImage(images, { name: req.name, creds: credentialsOf(req.auth), signal }, config.push, (p) => call.write(p));
    }),
    Login: unary(async (req) => login(credentialsOf(req), req.server_address, config.settings)),
    Usage: unary(async () => diskUsage(images)),
  };
}
