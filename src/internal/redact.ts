/**
 * Removes credentials from a connection URL so it can appear in errors and
 * logs: `redis://user:secret@host:6379/0` becomes `redis://***@host:6379/0`.
 * Query parameters that look like secrets are masked too. Text that is not a
 * URL is replaced by a placeholder rather than echoed.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<unparseable url>';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '***';
    parsed.password = '';
  }
  for (const key of [...parsed.searchParams.keys()]) {
    if (/pass|secret|token|key|auth/i.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.toString();
}
