export { DEFAULT_DEV_TOKEN_TTL_SECONDS, type DevTokenOptions, signDevToken } from './dev-token.js';
export {
  bearerToken,
  type JwtAuthenticate,
  type JwtAuthOptions,
  type JwtPrincipal,
  jwtAuth,
  MAX_USER_ID_LENGTH,
} from './jwt-auth.js';
