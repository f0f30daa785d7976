/*
 * t/fuzz/forward_fuzz.c - libFuzzer target for the forward plugin's user
 * files and message copy (plugins/forward.c): the seed's forward.def
 * (forward_def), IMS.CTL [AutoForward] through yh_ini_get (ims_forward,
 * with ForwardTo FILE: lists and PERMITFROM.TXT), the address lists
 * (add_list, list_has) and the copy with attachments stripped
 * (build_copy: header end, boundary, MIME parts).  The input is written
 * as each of those files and read as the message; nothing is sent.
 */
#include "../../plugins/forward.c"

#include "userfiles.inc"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yh_delivery d;
	struct setup s;
	char *copy, *text;
	size_t outlen;

	uf_put("forward.def", data, size);
	uf_put("IMS.CTL", data, size);
	uf_put("list.txt", data, size);
	uf_put("PERMITFROM.TXT", data, size);
	uf_delivery(&d, "alice@example.org", "user@example.net");

	memset(&s, 0, sizeof(s));
	s.size_limit = -1;
	forward_def(&d, uf_init(), &s);
	rcpts_free(&s.to);

	memset(&s, 0, sizeof(s));
	s.size_limit = -1;
	(void)ims_forward(&d, "user", uf_init(), &s);
	rcpts_free(&s.to);

	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	(void)list_has(text, "alice@example.org");
	memset(&s, 0, sizeof(s));
	s.size_limit = -1;
	s.strip_att = 1;
	/* from the queue file (deliver) and from the stored copy (delivered) */
	copy = build_copy(text, size, 0, "user@example.net", &s, &outlen);
	free(copy);
	copy = build_copy(text, size, 1, "user@example.net", &s, &outlen);
	free(copy);
	free(text);
	hook_delivery_free(&d);
	return 0;
}
