import { describe, expectTypeOf, it } from 'vitest';
import {
  type ErrorCode,
  isScaleoutError,
  jsonSerializer,
  type ScaleoutError,
  type Serializer,
  TimeoutError,
} from '../../src/index.js';

describe('public types', () => {
  it('narrows unknown to ScaleoutError with a code from the closed union', () => {
    const err: unknown = new TimeoutError('x');
    if (isScaleoutError(err)) {
      expectTypeOf(err).toEqualTypeOf<ScaleoutError>();
      expectTypeOf(err.code).toEqualTypeOf<ErrorCode>();
    }
    // @ts-expect-error not a code in the closed union
    isScaleoutError(err, 'ERR_NOT_A_CODE');
  });

  it('gives each subclass a literal code', () => {
    expectTypeOf(new TimeoutError('x').code).toEqualTypeOf<'ERR_TIMEOUT'>();
  });

  it('types deserialized values through the generic', () => {
    expectTypeOf(jsonSerializer).toEqualTypeOf<Serializer>();
    expectTypeOf(jsonSerializer.deserialize<{ id: number }>('{"id":1}')).toEqualTypeOf<{ id: number }>();
  });
});
