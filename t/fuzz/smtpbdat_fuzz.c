/*
 * t/fuzz/smtpbdat_fuzz.c - libFuzzer target for BDAT (daemon/
 * smtp_bdat.c, RFC 3030): a transaction to the local account alice is
 * open; the input is what the client sends next -- BDAT commands with
 * sizes good, huge and malformed, LAST, their chunks (lines across chunk
 * boundaries, bare CR and LF, over-long lines, the size limit, 64K here),
 * DATA or RCPT after BDAT, RSET, MAIL and more chunks, a session that
 * ends inside a chunk.  The queued message is removed after each input
 * (t/fuzz/session.inc).
 */
#include "session.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sess_run(LK_SMTP, "EHLO client.example.org\r\n"
	    "MAIL FROM:<bob@example.org> BODY=8BITMIME\r\n"
	    "RCPT TO:<alice@example.net>\r\n", data, size);
	return 0;
}
