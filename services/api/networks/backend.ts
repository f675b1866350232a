/**
 * What the networks routes need from the engine; implemented over the daemon's Networks service
 * (../daemon-network-backend.ts). Documents are Docker Engine API JSON, passed through as bytes.
 */
export interface NetworksBackend {
  /** Docker's NetworkCreateRequest, as it came; answers {"Id","Warning"}. */
  create(body: Buffer): Promise<Buffer>;
  inspect(id: string): Promise<Buffer>;
  /** Docker's filters JSON (legacy format), "" for none. */
  list(filters: string): Promise<Buffer>;
  remove(id: string): Promise<void>;
  /** {"Container", "EndpointConfig"} as it came. */
  connect(id: string, body: Buffer): Promise<void>;
  /** {"Container", "Force"} as it came. */
  disconnect(id: string, body: Buffer): Promise<void>;
  prune(filters: string): Promise<Buffer>;
}
