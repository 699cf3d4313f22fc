/*
 * mailward-pam: checks one OS password through PAM (P6), in its own short-lived process, so that a
 * slow or hung PAM module never blocks Mailward's event loop and can be killed on a time-out.
 *
 * Input on stdin, never on the command line (argv is visible to every user through ps):
 *     service NUL user NUL password NUL rhost NUL
 * rhost (the client's address, given to PAM as PAM_RHOST) may be empty. Nothing may follow.
 *
 * Exit status:
 *     0   the password is right and the account may be used (pam_authenticate + pam_acct_mgmt)
 *     1   wrong password (or PAM refused the credentials)
 *     2   PAM says the user is unknown (only when the stack lets the module say so)
 *     3   the password is right but the account may not be used now (expired, locked, must change
 *         its password, denied by an account module)
 *     4   PAM could not decide (configuration, module or system error), or the helper is misused
 *     64  malformed input
 * For 3 and 4 one line on stderr says which PAM call failed and pam_strerror's text; nothing
 * else is ever written, and never the password.
 *
 * With --parse-only the input is checked and the status is 0 or 64, without calling PAM: the
 * project's fuzz test drives the parser this way.
 *
 * Build: scripts/build-pam-helper.sh (gcc, libpam0g-dev). It must not be installed set-uid: it
 * refuses to run so, because a set-uid helper would let any local user test passwords.
 */
#define _DEFAULT_SOURCE
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

enum { EXIT_OK = 0, EXIT_BAD = 1, EXIT_UNKNOWN = 2, EXIT_ACCOUNT = 3, EXIT_PAM = 4, EXIT_USAGE = 64 };

/* Whole input: the four fields and their NULs. Mailward sends far less; more is an error. */
#define MAX_INPUT 2048
/* A PAM service is a file name in /etc/pam.d: short, and without a path separator. */
#define MAX_SERVICE 64
/* LOGIN_NAME_MAX is 256 on Linux, including the NUL. */
#define MAX_USER 255
/* PAM_MAX_RESP_SIZE is 512 including the NUL: no PAM module reads a longer answer. */
#define MAX_PASSWORD 511
/* An address with an IPv6 zone fits easily. */
#define MAX_RHOST 255

static char input[MAX_INPUT + 1];

struct request {
  const char *service;
  const char *user;
  const char *password;
  const char *rhost;
};

static int valid_service(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MAX_SERVICE || s[0] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return 0;
  }
  return 1;
}

/* The same rule as osUserName's check in names.ts. */
static int valid_user(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MAX_USER || s[0] == '-') return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f || c == '/' || c == ':') return 0;
  }
  return 1;
}

static int valid_rhost(const char *s) {
  size_t n = strlen(s);
  if (n > MAX_RHOST) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7f) return 0;
  }
  return 1;
}

/* Splits the input into its four fields; 0 when it is not exactly four valid NUL-ended fields. */
static int parse(size_t len, struct request *r) {
  const char *fields[4];
  size_t at = 0;
  for (int f = 0; f < 4; f++) {
    const char *end = memchr(input + at, '\0', len - at);
    if (end == NULL) return 0;
    fields[f] = input + at;
    at = (size_t)(end - input) + 1;
  }
  if (at != len) return 0;
  r->service = fields[0];
  r->user = fields[1];
  r->password = fields[2];
  r->rhost = fields[3];
  size_t plen = strlen(r->password);
  return valid_service(r->service) && valid_user(r->user) && plen > 0 && plen <= MAX_PASSWORD && valid_rhost(r->rhost);
}

/*
 * PAM asks its questions through this function. Every hidden prompt is answered with the password
 * (a stack of two password modules asks twice, as with Dovecot); a visible prompt is a user-name
 * prompt; messages need no answer.
 */
static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
  const struct request *r = data;
  if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  struct pam_response *out = calloc((size_t)n, sizeof *out);
  if (out == NULL) return PAM_BUF_ERR;
  for (int i = 0; i < n; i++) {
    const char *answer = NULL;
    switch (msg[i]->msg_style) {
      case PAM_PROMPT_ECHO_OFF: answer = r->password; break;
      case PAM_PROMPT_ECHO_ON: answer = r->user; break;
      case PAM_ERROR_MSG: case PAM_TEXT_INFO: break;
      default: goto fail;
    }
    if (answer != NULL && (out[i].resp = strdup(answer)) == NULL) goto fail;
  }
  *resp = out;
  return PAM_SUCCESS;
fail:
  for (int i = 0; i < n; i++) {
    if (out[i].resp != NULL) { explicit_bzero(out[i].resp, strlen(out[i].resp)); free(out[i].resp); }
  }
  free(out);
  return PAM_CONV_ERR;
}

static int finish(int code, size_t len) {
  explicit_bzero(input, len);
  return code;
}

int main(int argc, char **argv) {
  int parse_only = argc == 2 && strcmp(argv[1], "--parse-only") == 0;
  if (argc > 2 || (argc == 2 && !parse_only)) {
    fputs("usage: mailward-pam [--parse-only] < service NUL user NUL password NUL rhost NUL\n", stderr);
    return EXIT_USAGE;
  }
  if (getuid() != geteuid() || getgid() != getegid()) {
    fputs("mailward-pam: refusing to run set-uid or set-gid\n", stderr);
    return EXIT_PAM;
  }

  size_t len = 0;
  for (;;) {
    ssize_t got = read(STDIN_FILENO, input + len, sizeof input - len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return finish(EXIT_USAGE, len);
    if (got == 0) break;
    len += (size_t)got;
    if (len > MAX_INPUT) return finish(EXIT_USAGE, len);
  }

  struct request r;
  if (!parse(len, &r)) return finish(EXIT_USAGE, len);
  if (parse_only) return finish(EXIT_OK, len);

  struct pam_conv conv = { converse, &r };
  pam_handle_t *pamh = NULL;
  int rc = pam_start(r.service, r.user, &conv, &pamh);
  if (rc != PAM_SUCCESS) {
    fprintf(stderr, "pam_start: %s\n", pam_strerror(pamh, rc));
    return finish(EXIT_PAM, len);
  }
  if (r.rhost[0] != '\0') (void)pam_set_item(pamh, PAM_RHOST, r.rhost);

  int code;
  rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
  switch (rc) {
    case PAM_SUCCESS:
      rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
      if (rc == PAM_SUCCESS) code = EXIT_OK;
      else if (rc == PAM_USER_UNKNOWN) code = EXIT_UNKNOWN;
      else if (rc == PAM_ACCT_EXPIRED || rc == PAM_NEW_AUTHTOK_REQD || rc == PAM_PERM_DENIED || rc == PAM_AUTH_ERR) {
        fprintf(stderr, "pam_acct_mgmt: %s\n", pam_strerror(pamh, rc));
        code = EXIT_ACCOUNT;
      } else {
        fprintf(stderr, "pam_acct_mgmt: %s\n", pam_strerror(pamh, rc));
        code = EXIT_PAM;
      }
      break;
    case PAM_AUTH_ERR: case PAM_CRED_INSUFFICIENT: case PAM_PERM_DENIED: case PAM_MAXTRIES:
      code = EXIT_BAD;
      break;
    case PAM_USER_UNKNOWN:
      code = EXIT_UNKNOWN;
      break;
    default:
      fprintf(stderr, "pam_authenticate: %s\n", pam_strerror(pamh, rc));
      code = EXIT_PAM;
  }
  pam_end(pamh, rc);
  return finish(code, len);
}
