/**
 * A worker whose only handle is the lifecycle: on SIGTERM it must wait out
 * its drain delay and close what it manages before the process ends.
 */
import { ServiceLifecycle } from '../../../../src/index.js';

const lifecycle = new ServiceLifecycle({ signals: ['SIGTERM'], drainDelayMs: 200, deadlineMs: 5_000 });
lifecycle.manage({ close: () => void process.stdout.write('closed\n') }, { name: 'flush' });
lifecycle.on('stopped', (report) => process.stdout.write(`stopped ${report.exitCode}\n`));
// Keep the process up until the signal comes, then let go of the only handle.
const keepAlive = setInterval(() => {}, 1_000);
process.once('SIGTERM', () => clearInterval(keepAlive));
process.stdout.write('ready\n');
