/*
 * t/fuzz/dnsbl_fuzz.c - libFuzzer target for the dnsbl plugin's pure part
 * (plugins/dnsbl/dbzone.c, compiled in): the whole input is a TXT record
 * (a DNS server's bytes) made into a reason, and a cache record read
 * back; its first line is a word of `zones`.  Checked on every input: a
 * reason is printable ASCII, at most DB_REASON_MAX bytes and "...", with
 * no blank at either end; a reason written into a record reads back the
 * same; a record that parses writes back to the same bytes; a zone that
 * parses has a name that fits and builds names for IPv4 and IPv6 within
 * DNSQ_NAME_MAX.  No yh_* call is made.
 */
#include "../../plugins/lib/pu_net.c"
#include "../../plugins/dnsbl/dbzone.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reason[DB_REASON_MAX + 4], back[DB_REASON_MAX + 4];
	char rec[DB_REC_MAX], word[512], name[DNSQ_NAME_MAX + 1];
	unsigned char addr[4] = { 127, 0, 0, 2 }, got[4];
	const char *why;
	struct db_zone z;
	struct pu_ip ip;
	size_t n, i;
	int listed, r;

	/* the TXT record */
	n = db_reason((const char *)data, size, reason, sizeof(reason));
	if (n != strlen(reason) || n > DB_REASON_MAX + 3 ||
	    (n > 0 && (reason[0] == ' ' || reason[n - 1] == ' ')))
		abort();
	for (i = 0; i < n; i++)
		if (reason[i] < ' ' || reason[i] > '~')
			abort();
	r = db_rec_format(1, addr, reason, rec, sizeof(rec));
	if (r < 0 || db_rec_parse(rec, (size_t)r, &listed, got, back,
	    sizeof(back)) == -1 || !listed || memcmp(got, addr, 4) != 0 ||
	    strcmp(back, reason) != 0)
		abort();

	/* the input as a cache record */
	if (size < sizeof(back) + 32 &&
	    db_rec_parse((const char *)data, size, &listed, got, back,
	    sizeof(back)) == 0) {
		r = db_rec_format(listed, got, back, rec, sizeof(rec));
		if (r < 0 || (size_t)r != size || memcmp(rec, data, size) != 0)
			abort();
	}

	/* the first line as a word of `zones` */
	for (n = 0; n < size && n + 1 < sizeof(word) && data[n] != '\n' &&
	    data[n] != '\0'; n++)
		word[n] = (char)data[n];
	word[n] = '\0';
	why = NULL;
	if (db_zone_parse(word, &z, &why) == 0) {
		if (strlen(z.name) > DB_ZONE_MAX || z.weight == 0 ||
		    z.weight > DB_WEIGHT_MAX || z.weight < -DB_WEIGHT_MAX)
			abort();
		if (pu_ip_parse("2001:db8::1", &ip) == -1 ||
		    db_query_name(&ip, z.name, name, sizeof(name)) == -1 ||
		    strlen(name) > DNSQ_NAME_MAX)
			abort();
		if (pu_ip_parse("192.0.2.1", &ip) == -1 ||
		    db_query_name(&ip, z.name, name, sizeof(name)) == -1)
			abort();
	} else if (why == NULL)
		abort();
	return 0;
}
