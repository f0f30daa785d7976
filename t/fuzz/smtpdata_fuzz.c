/*
 * t/fuzz/smtpdata_fuzz.c - libFuzzer target for DATA (daemon/
 * smtp_data.c): a transaction to the local account alice is open and
 * DATA accepted; the input is the message as the client sends it --
 * dot-stuffing, the CRLF.CRLF end, bare CR and LF (refused), over-long
 * lines, the size limit (64K here), headers for the Received: and
 * header checks -- and the commands after it.  The queued message is
 * removed after each input (t/fuzz/session.inc).
 */
#include "session.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sess_run(LK_SMTP, "EHLO client.example.org\r\n"
	    "MAIL FROM:<bob@example.org> BODY=8BITMIME\r\n"
	    "RCPT TO:<alice@example.net>\r\nDATA\r\n", data, size);
	return 0;
}
