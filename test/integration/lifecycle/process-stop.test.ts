/**
 * The stop in a real OS process: nothing but the lifecycle keeps it alive
 * during the stop, so the drain delay and the closes run before it exits.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const worker = fileURLToPath(new URL('./workers/drain-delay-only.ts', import.meta.url));

describe('ServiceLifecycle in its own process', () => {
  it('waits out the drain delay and closes what it manages before the process exits', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready\n') && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(out).toBe('ready\nclosed\nstopped 0\n');
    expect(code).toBe(0);
  }, 30_000);
});
