/** The embedded file store (SPEC S1, R4): see store.ts for the layout of the data directory. */
export {
  FileSettingsStore, openFileStore, locate, parseSettingsFile, revisionOf, settingsFileBytes,
  ACCOUNT_FILE, ACCOUNTS_DIR, DOMAINS_DIR, SETTINGS_DIR,
  type FileStoreOptions, type ObjectLocation,
} from './store.js';
export { acquireDataDirLock, LOCK_FILE_NAME, type DataDirLockRelease } from './lockfile.js';
export {
  validateObjectName, assertObjectName, printableName,
  ACCOUNT_DIR_SUFFIX, ACCOUNT_NAME_MAX_LENGTH, DOMAIN_NAME_MAX_LENGTH, DOMAIN_LABEL_MAX_LENGTH,
  type NameCheck, type ObjectNameKind,
} from './names.js';
export { DIR_MODE, FILE_MODE } from './fsutil.js';
