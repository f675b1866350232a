import { describe, expect, it } from 'vitest';
import { withApiVersions } from './handlers.js';

describe('/version', () => {
  it("fills in the api's own API versions, at the top and in the Engine component", () => {
    const doc = withApiVersions({
      Version: '0.1.0',
      Components: [
        { Name: 'Engine', Details: { GitCommit: 'abc' } },
        { Name: 'tersane-runtime', Details: { GitCommit: 'abc' } },
      ],
    });
    expect(doc.ApiVersion).toBe('1.50');
    expect(doc.MinAPIVersion).toBe('1.24');
    expect(doc.Components?.[0].Details).toEqual({ GitCommit: 'abc', ApiVersion: '1.50', MinAPIVersion: '1.24' });
    expect(doc.Components?.[1].Details).toEqual({ GitCommit: 'abc' });
  });
});
