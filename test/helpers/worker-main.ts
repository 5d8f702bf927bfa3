/**
 * The worker side of {@link startWorkers}: report ready, wait for `go`, run
 * `body`, send its result (or the error message), then exit.
 */
export function workerMain<T>(body: (payload: unknown) => Promise<T>): void {
  if (process.send === undefined) throw new Error('workerMain must run in a forked process');
  const send = process.send.bind(process);
  process.on('message', (m: { type?: string; payload?: unknown }) => {
    if (m.type !== 'go') return;
    body(m.payload).then(
      (data) => send({ type: 'result', data }, () => process.exit(0)),
      (err: unknown) =>
        send({ type: 'error', message: String((err as Error)?.stack ?? err) }, () => process.exit(1)),
    );
  });
  send({ type: 'ready' });
}
