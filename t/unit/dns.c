/*
 * t/unit/dns.c - server.resolver forms (dns_server_parse) and look-ups
 * through a configured resolver on IPv4 and IPv6 loopback: a dnsmasq this
 * test starts on 127.0.0.1 and ::1 (same port), authoritative for .test.
 * The look-ups are skipped, and say so, when dnsmasq is not installed or
 * the machine has no IPv6 loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "dns.h"

static void
test_parse(void)
{
	static const struct {
		const char	*text;
		int		 family;
		const char	*addr;
		int		 port;
	} good[] = {
		{ "127.0.0.1", AF_INET, "127.0.0.1", 53 },
		{ "127.0.0.1:5353", AF_INET, "127.0.0.1", 5353 },
		{ "192.0.2.1:1", AF_INET, "192.0.2.1", 1 },
		{ "192.0.2.1:65535", AF_INET, "192.0.2.1", 65535 },
		{ "::1", AF_INET6, "::1", 53 },
		{ "[::1]", AF_INET6, "::1", 53 },
		{ "[::1]:5353", AF_INET6, "::1", 5353 },
		{ "2001:db8::53", AF_INET6, "2001:db8::53", 53 },
		{ "[2001:db8::53]:853", AF_INET6, "2001:db8::53", 853 },
		{ "::ffff:192.0.2.1", AF_INET6, "::ffff:192.0.2.1", 53 },
	};
	static const char *const bad[] = {
		"", "localhost", "ns.example:53", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:053x", "127.0.0.1:123456",
		"127.0.0.1:-1", "127.0.0.1:+5", "127.0.0.1: 53", "[127.0.0.1]",
		"[127.0.0.1]:53", "[::1", "[::1]x", "[::1]:", "[::1]:0", "[]",
		"[]:53", "::1:5353x", "1.2.3", "1.2.3.4.5", " 127.0.0.1",
		"[[::1]]",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char addr[INET6_ADDRSTRLEN];
	size_t i;
	int port;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!ok(dns_server_parse(good[i].text, &ss, &len) == 0,
		    "resolver \"%s\" accepted", good[i].text))
			continue;
		is_int(ss.ss_family, good[i].family, "\"%s\": family",
		    good[i].text);
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			    addr, sizeof(addr));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			is_int(len, sizeof(struct sockaddr_in), "\"%s\": length",
			    good[i].text);
		} else {
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)&ss)->sin6_addr, addr,
			    sizeof(addr));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			is_int(len, sizeof(struct sockaddr_in6), "\"%s\": length",
			    good[i].text);
		}
		is_str(addr, good[i].addr, "\"%s\": address", good[i].text);
		is_int(port, good[i].port, "\"%s\": port", good[i].text);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(dns_server_parse(bad[i], &ss, &len), -1,
		    "resolver \"%s\" refused", bad[i]);
}

/* free_port - a TCP port free on both loopbacks, or 0. */
static int
free_port(void)
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	socklen_t len = sizeof(a6);
	int fd6, fd4, port = 0;

	if ((fd6 = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_addr = in6addr_loopback;
	if (bind(fd6, (struct sockaddr *)&a6, sizeof(a6)) == 0 &&
	    getsockname(fd6, (struct sockaddr *)&a6, &len) == 0) {
		port = ntohs(a6.sin6_port);
		fd4 = socket(AF_INET, SOCK_STREAM, 0);
		memset(&a4, 0, sizeof(a4));
		a4.sin_family = AF_INET;
		a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a4.sin_port = htons((unsigned short)port);
		if (fd4 == -1 || bind(fd4, (struct sockaddr *)&a4,
		    sizeof(a4)) == -1)
			port = 0;
		if (fd4 != -1)
			close(fd4);
	}
	close(fd6);
	return port;
}

/* listening - 1 when something accepts TCP at ::1 PORT. */
static int
listening(int port)
{
	struct sockaddr_in6 a6;
	int fd, r;

	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_addr = in6addr_loopback;
	a6.sin6_port = htons((unsigned short)port);
	r = connect(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0;
	close(fd);
	return r;
}

/* dnsmasq_start - dnsmasq on ::1 and 127.0.0.1 at PORT; its pid, or -1
 * when it cannot be run or does not come up. */
static pid_t
dnsmasq_start(int port)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	char portopt[32];
	int status, i;
	pid_t pid;

	snprintf(portopt, sizeof(portopt), "--port=%d", port);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		char *argv[] = { "dnsmasq", "--keep-in-foreground",
		    "--no-resolv", "--no-hosts", "--no-daemon",
		    "--listen-address=::1", "--listen-address=127.0.0.1",
		    "--bind-interfaces", portopt, "--local=/test/",
		    "--pid-file=", "--log-facility=-",
		    "--conf-file=/dev/null", "--mx-host=m.test,mx.m.test,10",
		    "--mx-host=m.test,mx2.m.test,20",
		    "--host-record=mx.m.test,192.0.2.7,2001:db8::7",
		    "--host-record=v4.test,192.0.2.8",
		    geteuid() == 0 ? "--user=root" : NULL, NULL };

		if (freopen("/dev/null", "w", stdout) == NULL ||
		    freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		execvp("dnsmasq", argv);
		execv("/usr/sbin/dnsmasq", argv);
		_exit(127);
	}
	/* wait for the state (it answers), not for a time */
	for (i = 0; i < 200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		if (listening(port))
			return pid;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return -1;
}

static void
test_lookups(const char *resolver, const char *what)
{
	struct sockaddr_storage addrs[DNS_ADDR_MAX];
	struct dns_mx mx[DNS_MX_MAX];
	char a[INET6_ADDRSTRLEN];
	size_t n = 0, i;
	int saw4 = 0, saw6 = 0;

	is_int(dns_mx(resolver, "m.test", mx, DNS_MX_MAX, &n), DNS_OK,
	    "%s: MX of m.test", what);
	is_int(n, 2, "%s: two MX hosts", what);
	if (n == 2) {
		is_str(mx[0].name, "mx.m.test", "%s: preference 10 first", what);
		is_int(mx[0].pref, 10, "%s: its preference", what);
		is_str(mx[1].name, "mx2.m.test", "%s: then 20", what);
	}
	is_int(dns_mx(resolver, "none.test", mx, DNS_MX_MAX, &n), DNS_NXDOMAIN,
	    "%s: no such domain", what);
	is_int(dns_mx(resolver, "v4.test", mx, DNS_MX_MAX, &n), DNS_NODATA,
	    "%s: a name without MX", what);
	n = 0;
	is_int(dns_addrs(resolver, "mx.m.test", 25, addrs, DNS_ADDR_MAX, &n),
	    DNS_OK, "%s: addresses of mx.m.test", what);
	for (i = 0; i < n; i++) {
		if (addrs[i].ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&addrs[i])->sin_addr,
			    a, sizeof(a));
			saw4 |= strcmp(a, "192.0.2.7") == 0 &&
			    ntohs(((struct sockaddr_in *)&addrs[i])->sin_port) == 25;
		} else {
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)&addrs[i])->sin6_addr, a,
			    sizeof(a));
			saw6 |= strcmp(a, "2001:db8::7") == 0;
		}
	}
	ok(n == 2 && saw4 && saw6, "%s: its A and AAAA, port 25", what);
	is_int(dns_addrs(resolver, "nothing.test", 25, addrs, DNS_ADDR_MAX, &n),
	    DNS_NXDOMAIN, "%s: an unknown host", what);
}

int
main(void)
{
	char r6[64], r6b[64], r4[64];
	int port, status;
	pid_t pid;

	plan_no_plan();
	test_parse();
	/* a bad resolver value is a temporary failure, never a crash */
	{
		struct dns_mx mx[1];
		size_t n;

		is_int(dns_mx("not-an-address", "m.test", mx, 1, &n),
		    DNS_TEMPFAIL, "bad resolver: tempfail");
	}
	if ((port = free_port()) == 0) {
		ok(1, "# SKIP no IPv6 loopback here");
		return done_testing();
	}
	if ((pid = dnsmasq_start(port)) == -1) {
		ok(1, "# SKIP dnsmasq cannot be started here");
		return done_testing();
	}
	snprintf(r6, sizeof(r6), "[::1]:%d", port);
	snprintf(r4, sizeof(r4), "127.0.0.1:%d", port);
	test_lookups(r6, r6);
	test_lookups(r4, r4);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	/* nobody there any more: a temporary failure, not a hang */
	snprintf(r6b, sizeof(r6b), "[::1]:%d", port);
	{
		struct dns_mx mx[1];
		size_t n;

		is_int(dns_mx(r6b, "m.test", mx, 1, &n), DNS_TEMPFAIL,
		    "resolver gone: tempfail");
	}
	return done_testing();
}
