/**
 * OS passwords through PAM (P6): the checker the engine calls, and the OS User Name pattern.
 * See README.md in this folder for the helper, its build and the PAM configuration.
 */
export {
  OsPasswordChecker,
  OS_AUTH_DEFAULT_SERVICE, OS_AUTH_TIMEOUT_MS, OS_AUTH_MAX_CONCURRENT, OS_AUTH_MAX_QUEUE, OS_AUTH_MAX_PASSWORD,
  OS_AUTH_DEFAULT_HELPER,
  type OsAuthOutcome, type OsAuthOptions, type OsCheckRequest,
} from './pam.js';
export { osUserName, checkOsUserName, OS_USER_NAME_MAX, type OsUserNameResult } from './names.js';
