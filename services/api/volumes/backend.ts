/**
 * What the volumes routes need from the engine; implemented over the daemon's Volumes service
 * (../daemon-volume-backend.ts). Documents are Docker Engine API JSON, passed through as bytes.
 */
export interface VolumesBackend {
  /** Docker's VolumeCreateOptions, as it came; answers the Volume. */
  create(body: Buffer): Promise<Buffer>;
  inspect(name: string): Promise<Buffer>;
  list(filters: string): Promise<Buffer>;
  remove(name: string, force: boolean): Promise<void>;
  /** `apiVersion`: before 1.42 a prune takes named volumes too. */
  prune(filters: string, apiVersion: string): Promise<Buffer>;
}
