import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('examples/monitor', () => {
  it('records every request, the abort and the cache events, and prints Prometheus counts', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/monitor.ts'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('requests 252, errors');
    expect(r.stdout).toContain('aborted 1');
    expect(r.stdout).toMatch(/\/users\/:id\s+200 requests/);
    expect(r.stdout).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/users\/:id",status="200"\} 200/,
    );
    expect(r.stdout).toMatch(/scaleout_cache_hit_total \d+/);
    expect(r.stdout).toContain('route="unmatched",status="404"} 1');
  });
});
