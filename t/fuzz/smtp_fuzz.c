/*
 * t/fuzz/smtp_fuzz.c - libFuzzer target for a whole SMTP session on port
 * 25 (daemon/smtp.c and friends): the input is everything the client
 * sends after the greeting -- command lines, pipelining, over-long lines,
 * NUL bytes, MAIL/RCPT paths and parameters, AUTH exchanges, DATA with
 * its end-of-data and dot-stuffing, BDAT chunks (smtpbdat_fuzz.c goes
 * deeper), RSET, QUIT.
 * The server runs on the compiled-in configuration in a private home
 * with the account alice (t/fuzz/session.inc).
 */
#include "session.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sess_run(LK_SMTP, "", data, size);
	return 0;
}
