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

/** Key names holding a secret wherever these letters appear in them (`dbPassword`, `refresh_token`, `x-api-key`). */
const SECRET_IN_NAME = /pass|pwd|secret|token|auth|cookie|credential|private|bearer|jwt|api[-_]?key/i;

/**
 * Words of a key name that name a secret (`signingKey`, `key`, `sessionId`,
 * `sig`); whole words only, so `keys`, `keyspace`, `monkey` or `sessions`
 * (a count) stay shown. Compact spellings (`signingkey`) count too.
 */
const SECRET_WORD =
  /^(?:key|(?:access|signing|master|encryption|hmac|shared|client)key|sid|sig|signature|sessionid)$/;

/** A word after a secret word that says the value only describes it (`keyPrefix`, `keyCount`, `signatureAlgorithm`). */
const DESCRIBES_IT = new Set([
  'id',
  'ids',
  'prefix',
  'count',
  'name',
  'names',
  'space',
  'size',
  'length',
  'pattern',
  'type',
  'format',
  'version',
  'alg',
  'algorithm',
]);

/**
 * Whether the value under key `name` is to be hidden: names holding
 * `pass`, `pwd`, `secret`, `token`, `auth`, `cookie`, `credential`,
 * `private`, `jwt`, `api key` anywhere, and names with a word such as
 * `key`, `signingKey`, `sessionId`, `session`, `sid` or `signature`
 * (unless the next word says the value only describes it: `keyPrefix`).
 */
export function isSecretKey(name: string): boolean {
  if (SECRET_IN_NAME.test(name)) return true;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = words[i + 1];
    if (word === 'session' && (next === undefined || next === 'id' || next === 'key')) return true;
    if (SECRET_WORD.test(word) && (next === undefined || !DESCRIBES_IT.has(next))) return true;
  }
  return false;
}

/**
 * Masks the credentials of URLs in a text: `redis://user:pw@host` becomes
 * `redis://***@host` (up to the last `@` of the authority, so a password
 * holding an `@` goes whole).
 */
function maskUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]{0,30}:\/\/)[^\s/?#]{0,1000}@/gi, '$1***@');
}

/** A JSON Web Token (or JWE) anywhere in a text: a base64url JSON header (`eyJ`) and at least two more parts. */
const JWT_IN_TEXT = /\beyJ[\w-]+\.[\w-]+\.[\w-]*(?:\.[\w-]+\.[\w-]+)?/g;

/**
 * A secret written after its name in a text: `password=hunter2`,
 * `?access_token=...`, `Authorization: Bearer ...`, `invalid token sk_...`,
 * `the password is hunter2`, `password: "hunter2"`, and JSON
 * (`{"password":"hunter2"}`, escaped or not). Groups: the name, its closing
 * quote, the separator, the value (quoted or bare).
 */
const SECRET_IN_TEXT =
  /\b([\w-]{0,40}(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|(?:private|signing|access|session)[-_]?key|session[-_]?id|authorization|cookie|credentials?|bearer))(\\?["']?)(\s*[:=]\s*|\s+(?:(?:is|was)\s+)?)(?:(?:bearer|basic)\s+)?(\\?"[^"\n]{0,500}"?|\\?'[^'\n]{0,500}'?|[^\s"',;&}]+)/gi;

/** The value replaced, its quotes kept (`"[redacted]"`). */
function maskedValue(value: string): string {
  const quoted = /^(\\?["'])[\s\S]*?(\\?["']?)$/.exec(value);
  return quoted === null ? '[redacted]' : `${quoted[1]}[redacted]${quoted[2]}`;
}

/**
 * Masks secrets in a free text (an error message, a string a health check
 * resolved to): URL credentials, JSON Web Tokens, and values written after
 * a secret's name (`password=`, `token:`, `"password":"..."`, `the
 * password is ...`). Ordinary words stay.
 */
export function maskSecrets(text: string): string {
  return maskUrls(text)
    .replace(JWT_IN_TEXT, '[redacted]')
    .replace(
      SECRET_IN_TEXT,
      (_match, name: string, quote: string, separator: string, value: string) =>
        `${name}${quote}${separator}${maskedValue(value)}`,
    );
}
