import { describe, expectTypeOf, it } from 'vitest';
import {
  type AnyScaleoutError,
  type ErrorCode,
  isScaleoutError,
  jsonSerializer,
  type LockNotAcquiredError,
  type ScaleoutError,
  type ScaleoutErrorByCode,
  type Serializer,
  TimeoutError,
} from '../../src/index.js';

describe('public types', () => {
  it('narrows unknown to ScaleoutError with a code from the closed union', () => {
    const err: unknown = new TimeoutError('x');
    if (isScaleoutError(err)) {
      expectTypeOf(err).toEqualTypeOf<AnyScaleoutError>();
      expectTypeOf(err).toMatchTypeOf<ScaleoutError>();
      expectTypeOf(err.code).toEqualTypeOf<ErrorCode>();
    }
    // @ts-expect-error not a code in the closed union
    isScaleoutError(err, 'ERR_NOT_A_CODE');
  });

  it('narrows to the class of the code asked for', () => {
    const err: unknown = new TimeoutError('x');
    if (isScaleoutError(err, 'ERR_LOCK_NOT_ACQUIRED')) {
      expectTypeOf(err).toEqualTypeOf<LockNotAcquiredError>();
      expectTypeOf(err.waitedMs).toEqualTypeOf<number>();
    }
    if (isScaleoutError(err, 'ERR_TIMEOUT')) expectTypeOf(err).toEqualTypeOf<TimeoutError>();
  });

  it('maps every code to exactly one class', () => {
    type Missing = { [C in ErrorCode]: ScaleoutErrorByCode[C] extends never ? C : never }[ErrorCode];
    expectTypeOf<Missing>().toEqualTypeOf<never>();
    expectTypeOf<AnyScaleoutError['code']>().toEqualTypeOf<ErrorCode>();
  });

  it('gives each subclass a literal code', () => {
    expectTypeOf(new TimeoutError('x').code).toEqualTypeOf<'ERR_TIMEOUT'>();
  });

  it('types deserialized values through the generic', () => {
    expectTypeOf(jsonSerializer).toEqualTypeOf<Serializer>();
    expectTypeOf(jsonSerializer.deserialize<{ id: number }>('{"id":1}')).toEqualTypeOf<{ id: number }>();
  });
});
