/*
 * t/fuzz/pop3_fuzz.c - libFuzzer target for a POP3 session (daemon/
 * pop3.c).  The first input byte chooses: even, the rest is the whole
 * client side (USER/PASS, APOP, AUTH, CAPA, STLS, commands out of state);
 * odd, alice is logged in first ("USER alice", "PASS secret") and the rest
 * works on her two messages (STAT, LIST, UIDL, TOP, RETR, DELE, RSET,
 * NOOP, QUIT).  The mailbox is refilled after each input
 * (t/fuzz/session.inc).
 */
#include "session.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	sess_run(LK_POP3, data[0] & 1 ? "USER alice\r\nPASS secret\r\n" : "",
	    data + 1, size - 1);
	return 0;
}
