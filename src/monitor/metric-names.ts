/**
 * Names in the Prometheus exposition: every metric and label name the
 * monitor writes must be valid in the text format and pass `promtool check
 * metrics` (whose lint rules Prometheus tooling applies), whatever the
 * caller passed. Label names come from `observe()` mappings at event time,
 * so they are encoded (never refused); metric name parts are fixed when
 * `observe()` is called, so the few that cannot be made lint-clean are
 * refused there with a typed error.
 *
 * @module
 */

const PLAIN_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const CAMEL = /[a-z][A-Z]/;
/** Label names the format reserves: `le` (histograms), `quantile` (summaries), `__*` (Prometheus's own). */
const RESERVED_LABELS = new Set(['le', 'quantile']);
/** Prefix of an encoded label name. Names that start with it are encoded too, so the encoding is injective. */
const ESCAPED = 'U__';

/**
 * The label name written for a label called `name` by an `observe()`
 * mapping. A name that is already a lint-clean Prometheus label name passes
 * unchanged (`outcome`, `service`, `http_status`). Any other (`a-b`, `userId`,
 * `1st`, `le`, `quantile`, `__name__`, `ünï`, an empty or huge name) is
 * encoded in the style of Prometheus 3's `U__` escaping: `U__` then each
 * character as itself for `[a-z0-9]`, `__` for `_`, `_<hex code point>_`
 * for anything else. The encoding is injective, so two different names
 * never become the same label (`a-b` is `U__a_2d_b`, `a_b` stays `a_b`):
 * an event's labels are always distinct.
 *
 * @example
 * ```ts
 * labelNameFor('outcome'); // 'outcome'
 * labelNameFor('a-b'); // 'U__a_2d_b'
 * labelNameFor('le'); // 'U__le'
 * ```
 */
export function labelNameFor(name: string): string {
  if (
    PLAIN_LABEL.test(name) &&
    !CAMEL.test(name) &&
    !name.startsWith('__') &&
    !name.startsWith(ESCAPED) &&
    !RESERVED_LABELS.has(name)
  ) {
    return name;
  }
  let out = ESCAPED;
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    if ((code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39)) out += ch;
    else if (ch === '_') out += '__';
    else out += `_${code.toString(16)}_`;
  }
  return out;
}

/** Words promtool's lint rejects as a whole `_`-separated part of a metric name. */
const ABBREVIATED_UNITS = new Set([
  's',
  'ms',
  'us',
  'ns',
  'sec',
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'pb',
  'm',
  'h',
  'd',
]);
const TYPE_WORDS = new Set(['counter', 'gauge', 'histogram', 'summary']);
const BASE_UNITS = [
  'amperes',
  'bytes',
  'celsius',
  'grams',
  'joules',
  'kelvin',
  'meters',
  'metres',
  'seconds',
  'volts',
];
const OTHER_UNITS = new Set([
  'minutes',
  'hours',
  'days',
  'weeks',
  'kelvins',
  'fahrenheit',
  'rankine',
  'inches',
  'yards',
  'miles',
  'bits',
  'calories',
  'pounds',
  'ounces',
]);
const UNIT_PREFIXES = [
  'pico',
  'nano',
  'micro',
  'milli',
  'centi',
  'deci',
  'deca',
  'hecto',
  'kilo',
  'kibi',
  'mega',
  'mibi',
  'giga',
  'gibi',
  'tera',
  'tebi',
  'peta',
  'pebi',
];

/** Why `word` (one `_`-separated part of a metric name) fails promtool's lint, or undefined. */
function lintProblem(word: string): string | undefined {
  if (ABBREVIATED_UNITS.has(word)) return `"${word}" is an abbreviated unit (spell it out, in base units)`;
  if (TYPE_WORDS.has(word)) return `"${word}" is a metric type`;
  if (OTHER_UNITS.has(word)) return `"${word}" is not a base unit (use seconds, bytes, meters...)`;
  for (const prefix of UNIT_PREFIXES) {
    if (!word.startsWith(prefix)) continue;
    const unit = word.slice(prefix.length);
    if (BASE_UNITS.includes(unit) || OTHER_UNITS.has(unit)) {
      return `"${word}" is not a base unit (use seconds, bytes, meters...)`;
    }
  }
  return undefined;
}

/** Longest `source` or event name part accepted by `observe()`, in UTF-16 units. */
export const MAX_NAME_PART_LENGTH = 128;

/**
 * The metric name part made of `text` (an `observe()` source or event
 * name): camelCase split into snake_case, lower case, anything outside
 * `[a-z0-9_]` as `_` (`breakerStateChange` → `breaker_state_change`,
 * `service-client` → `service_client`). Returns the reason instead when the
 * result cannot pass promtool's lint (empty, too long, or a word such as
 * `ms`, `counter`, `minutes`): `observe()` refuses it then.
 *
 * @example
 * ```ts
 * metricNamePart('breakerStateChange'); // { part: 'breaker_state_change' }
 * metricNamePart('load_ms'); // { problem: '"ms" is an abbreviated unit ...' }
 * ```
 */
export function metricNamePart(text: string): { part: string } | { problem: string } {
  if (text.length === 0) return { problem: 'it is empty' };
  if (text.length > MAX_NAME_PART_LENGTH)
    return { problem: `it is longer than ${MAX_NAME_PART_LENGTH} characters` };
  const part = text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  for (const word of part.split('_')) {
    const problem = lintProblem(word);
    if (problem !== undefined) return { problem };
  }
  return { part };
}

/**
 * Why a `metricPrefix` cannot prefix every metric name cleanly, or
 * undefined: it must be lower-case snake_case (`[a-z_][a-z0-9_]*`), not
 * start with `__` (reserved), and hold no word promtool's lint rejects.
 *
 * @example
 * ```ts
 * metricPrefixProblem('myapp_'); // undefined
 * metricPrefixProblem('myApp:'); // 'it must match [a-z_][a-z0-9_]*'
 * ```
 */
export function metricPrefixProblem(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  if (!/^[a-z_][a-z0-9_]*$/.test(prefix)) return 'it must match [a-z_][a-z0-9_]* (lower-case snake_case)';
  if (prefix.startsWith('__')) return 'names starting with __ are reserved';
  for (const word of prefix.split('_')) {
    const problem = lintProblem(word);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * The monitor's own metric names (after `metricPrefix`): `observe()` may not
 * feed any of them (a second family of the same name would make the
 * exposition invalid).
 */
export const BUILT_IN_METRICS: readonly string[] = [
  'http_request_duration_seconds',
  'http_requests_in_flight',
  'http_requests_aborted_total',
  'scaleout_monitor_invalid_samples_total',
  'scaleout_monitor_overflow_total',
  'scaleout_monitor_observe_errors_total',
  'scaleout_monitor_series',
  'scaleout_monitor_uptime_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_utilization_ratio',
];
