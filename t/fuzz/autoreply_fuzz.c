/*
 * t/fuzz/autoreply_fuzz.c - libFuzzer target for the autoreply plugin's
 * user files (plugins/autoreply.c): the seed's reply.def (reply_def: its
 * params, the subject-and-body file and its charset), IMS.CTL
 * [AutoReply] with AUTORPLY.TXT (ims_reply), the suppression rules over
 * the incoming message's header (suppressed: Auto-Submitted, List-*,
 * Precedence, NOREPLY.TXT) and the reply text (header_text, text_part).
 * The input is written as each of those files and as the message;
 * nothing is sent.
 */
#include "../../plugins/autoreply.c"

#include "userfiles.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yh_delivery d;
	struct reply r;
	struct str m = { 0 };
	char onlyonce[PATH_MAX + PATH_MAX], msg[256], *text = NULL, *ini;
	int src;

	uf_put("reply.def", data, size);
	uf_put("reply.txt", data, size);
	uf_put("IMS.CTL", data, size);
	uf_put("AUTORPLY.TXT", data, size);
	uf_put("msg", data, size);
	snprintf(msg, sizeof(msg), "%s/msg", uf_init());
	uf_delivery(&d, "alice@example.org", "user@example.net");
	d.path = msg;

	memset(&r, 0, sizeof(r));
	onlyonce[0] = '\0';
	src = reply_def(&d, uf_init(), &r, &text, onlyonce, sizeof(onlyonce));
	if (src != 1) {
		free(text);
		text = NULL;
		free(r.subject);
		memset(&r, 0, sizeof(r));
		ini = malloc(size + 1);
		if (ini == NULL)
			abort();
		memcpy(ini, data, size);
		ini[size] = '\0';
		src = ims_reply(&d, uf_init(), ini, &r, &text) ? 2 : 0;
		free(ini);
	}
	if (src != 0) {
		if (r.subject)
			header_text(&m, "Subject", r.subject);
		text_part(&m, r.text, r.textlen, r.cs);
		free(m.p);
	}
	(void)suppressed(&d, "user@example.net", text);
	free(text);
	free(r.subject);
	hook_delivery_free(&d);
	return 0;
}
