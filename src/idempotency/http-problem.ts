/**
 * The body of an answer the middleware gives itself (RFC 9457 problem
 * details, as the IETF draft "The Idempotency-Key HTTP Header Field" shows
 * them), sent as `application/problem+json`.
 *
 * @example
 * ```ts
 * const problem: IdempotencyProblem = {
 *   type: 'https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/',
 *   title: 'Idempotency-Key is missing',
 *   status: 400,
 *   detail: 'This operation is idempotent and it requires correct usage of Idempotency Key.',
 * };
 * ```
 */
export interface IdempotencyProblem {
  /** `docsUrl`: where the key's rules are documented. */
  readonly type: string;
  /** A short summary, the draft's wording where it gives one. */
  readonly title: string;
  /** The HTTP status. */
  readonly status: 400 | 409 | 422;
  /** What went wrong and what to do; never the key's value. */
  readonly detail: string;
}

/** The IETF draft that defines the header: the default `type` of problems and target of `Link`. */
export const IDEMPOTENCY_DRAFT_URL =
  'https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/';

/** @internal The problems the middleware answers with. */
export const PROBLEMS = {
  missing: {
    status: 400,
    title: 'Idempotency-Key is missing',
    detail: 'This operation is idempotent and it requires correct usage of Idempotency Key.',
  },
  invalid: {
    status: 400,
    title: 'Idempotency-Key is invalid',
    detail: 'The Idempotency-Key must be sent once, as 1 to {max} printable ASCII characters: {why}.',
  },
  mismatch: {
    status: 422,
    title: 'Idempotency-Key is already used',
    detail:
      'This operation is idempotent and it requires correct usage of Idempotency Key. Idempotency Key MUST not be reused across different payloads of this operation.',
  },
  inProgress: {
    status: 409,
    title: 'A request is outstanding for this Idempotency-Key',
    detail:
      'A request with the same Idempotency-Key for the same operation is being processed or is outstanding. Retry later.',
  },
  notKept: {
    status: 409,
    title: 'The response for this Idempotency-Key is not kept',
    detail:
      'A request with this Idempotency-Key was processed, but its response was not kept (too large, or sent encoded); it is not processed again. Use a new key for a new request, or read the resource.',
  },
} as const;
