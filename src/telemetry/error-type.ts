/**
 * `error.type` of an error, as the conventions want it: a low-cardinality
 * class of error. The error's `code` (`ERR_TIMEOUT`, `ECONNREFUSED`), else
 * its name; never its message (it may hold data).
 *
 * @internal
 */
export function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.length <= 64) return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name.length <= 64 ? name : '_OTHER';
}
