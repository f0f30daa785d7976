/*
 * t/fuzz/smtpauth_fuzz.c - libFuzzer target for SMTP AUTH (daemon/
 * smtp_auth.c): after "EHLO" the input follows "AUTH " -- the mechanism
 * name, an initial response or "=", then the client's continuation lines
 * (base64 of PLAIN's authzid/authcid/password, LOGIN's user and password,
 * CRAM-MD5's "user digest", "*" to cancel), and whatever comes after.
 * The account alice (password "secret") exists (t/fuzz/session.inc).
 */
#include "session.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sess_run(LK_SMTP, "EHLO client.example.org\r\nAUTH ", data, size);
	return 0;
}
