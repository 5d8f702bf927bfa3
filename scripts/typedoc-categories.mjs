// A typedoc plugin: puts every export of an entry into the category of the
// primitive its source file belongs to (src/cache/... and the cache adapters:
// "Cache"; src/errors.ts: "Errors"), so the API reference reads by
// primitive instead of one alphabetical list where errors interleave with
// primitives. An explicit @category tag in the TSDoc wins.
import { CommentTag, Converter, ReflectionKind } from 'typedoc';

const AREAS = [
  [/^src\/errors\.ts$/, 'Errors'],
  [/^src\/(types|serializer)\.ts$/, 'Shared'],
  [/^src\/testing\//, 'Conformance suites'],
  [/^src\/resilience\//, 'Resilience'],
  [/^src\/monitor\//, 'Monitor'],
  [/rate-limit/, 'Rate limiter'],
  [/idempotency/, 'Idempotency'],
  [/jwt|^src\/auth\/|authorize/, 'JWT and authorize'],
  [/session/, 'Sessions'],
  [/lock/, 'Lock'],
  [/cache/, 'Cache'],
  [/registry/, 'Registry'],
  [/^src\/client\/|upstream/, 'Client'],
  [/queue|^src\/adapters\/amqp\//, 'Queue'],
  [/^src\/adapters\/redis\//, 'Redis plumbing'],
];

/** The category of a source file, by its path relative to the repository. */
export function categoryOf(path) {
  for (const [pattern, category] of AREAS) if (pattern.test(path)) return category;
  return 'Shared';
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  /** @type {Map<import('typedoc').DeclarationReflection, string>} */
  const pending = new Map();
  // Where each export comes from is known when it is created; a function's
  // comment sits on its signature, which exists only later: tag at resolve.
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.parent?.kindOf(ReflectionKind.SomeModule | ReflectionKind.Project)) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
    const at = file?.lastIndexOf('/src/') ?? -1;
    if (file !== undefined && at !== -1) pending.set(reflection, categoryOf(file.slice(at + 1)));
  });
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, () => {
    for (const [reflection, category] of pending) {
      const comment = reflection.comment ?? reflection.signatures?.[0]?.comment;
      if (comment === undefined || comment.blockTags.some((t) => t.tag === '@category')) continue;
      comment.blockTags.push(new CommentTag('@category', [{ kind: 'text', text: category }]));
    }
    pending.clear();
  });
}
