export type { Session, SessionReader } from '../contracts/session-reader.js';
export { generateSessionId, isValidSessionId, SESSION_ID_BYTES } from './session-id.js';
export type { CreateSessionOptions, UpdateSessionOptions } from './session-store.js';
export { SessionStore } from './session-store.js';
export type { SessionStoreOptions } from './session-store-options.js';
export { SESSION_STORE_DEFAULTS } from './session-store-options.js';
