/**
 * Host names as TLS sees them: the name a client asks for in SNI, the domain names and aliases we
 * serve, and the names a certificate covers. One normalisation (IDNA A-labels, lower case, no
 * trailing dot) is used on every side so that a comparison never depends on how a name was typed.
 */
import { domainToASCII } from 'node:url';

/** RFC 1035 §2.3.4: a name is at most 253 octets in its text form, a label at most 63. */
export const HOSTNAME_MAX_LENGTH = 253;
export const HOSTNAME_LABEL_MAX_LENGTH = 63;

const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * The canonical form of a host name, or null when it is not one. Accepts U-labels (converted to
 * A-labels, which is what SNI carries: RFC 6066 §3) and one trailing dot (a fully qualified name
 * denotes the same host). IP literals are not host names: RFC 6066 forbids them in SNI.
 */
export function normalizeHostname(input: string): string | null {
  if (input.length === 0 || input.length > HOSTNAME_MAX_LENGTH + 1) return null;
  const trimmed = input.endsWith('.') ? input.slice(0, -1) : input;
  if (trimmed.length === 0) return null;
  // domainToASCII also lower-cases; it returns '' for names IDNA refuses.
  const ascii = /^[\x21-\x7e]+$/.test(trimmed) ? trimmed.toLowerCase() : domainToASCII(trimmed);
  if (ascii.length === 0 || ascii.length > HOSTNAME_MAX_LENGTH) return null;
  const labels = ascii.split('.');
  for (const l of labels) {
    if (l.length > HOSTNAME_LABEL_MAX_LENGTH || !LABEL.test(l)) return null;
  }
  // An all-numeric last label would make the name read as an IPv4 address.
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return null;
  return ascii;
}

/**
 * A name a certificate carries (a dNSName, or a Common Name when there is no SAN), normalised;
 * a wildcard keeps its `*.` prefix. Null for names no client would ever match.
 */
export function normalizeCertificateName(input: string): string | null {
  if (input.startsWith('*.')) {
    const rest = normalizeHostname(input.slice(2));
    // RFC 6125 §6.4.3 and the CA/Browser Forum rules: a wildcard stands for exactly one whole
    // left-most label, and never directly under a public suffix we cannot know; we at least
    // require two labels under it so `*.com` covers nothing.
    if (rest === null || !rest.includes('.')) return null;
    return `*.${rest}`;
  }
  return normalizeHostname(input);
}

/**
 * Whether a certificate name covers a host name (both normalised). A wildcard matches exactly one
 * label: `*.example.com` covers `mail.example.com`, not `example.com` nor `a.b.example.com`
 * (RFC 6125 §6.4.3; clients check it this way, so claiming more would only produce failures).
 */
export function certificateNameCovers(certName: string, host: string): boolean {
  if (!certName.startsWith('*.')) return certName === host;
  const dot = host.indexOf('.');
  if (dot <= 0) return false;
  return host.slice(dot + 1) === certName.slice(2);
}
