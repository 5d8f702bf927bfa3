export type { JwtClaims, JwtSignOptions } from './jwt.js';
export { createJwt, Jwt } from './jwt.js';
export type { JwtAlgorithm } from './jwt-algorithms.js';
export type { JwtKeyInput } from './jwt-keys.js';
export type { JwtOptions, JwtVerificationKey } from './jwt-options.js';
export { JWT_DEFAULTS } from './jwt-options.js';
export type { RemoteJwksOptions } from './remote-jwks.js';
export { RemoteJwks } from './remote-jwks.js';
