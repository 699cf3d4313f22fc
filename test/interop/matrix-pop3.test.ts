// Issue 5 proof, POP3: every method each independent client offers, over STARTTLS and implicit TLS,
// against Mailward in front of a real Dovecot; the cells come from matrix.ts.
import { matrixSuite } from './matrix-run.js';

matrixSuite('POP3');
