# Makefile - build yubind, yubinctl, yubin-sendmail, yubin-mailparser, the
# plugins and the tests.
#
#   make            build into build/
#   make check      build, then run every test with prove
#   make check-asan the same tests against an ASan + UBSan build in build-asan/
#   make fuzz       build every libFuzzer target (clang) and run each briefly;
#                   make check does it too when clang is there
#   make fuzz-long FUZZ_TIME=SECONDS  run each target that long, one at a
#                   time, and print the executions each reached
#   make run        build and run yubind in the foreground on its compiled-in defaults
#   make install    PREFIX, DESTDIR and SYSCONFDIR are honoured: binaries,
#                   plugins, the plugin header, default etc/ files (an
#                   existing one is never replaced), man pages, the
#                   systemd unit, the sysvinit script and logrotate rules
#
# config.mk comes from ./configure; it is made on first use.

B ?= build
SAN ?=

-include config.mk

PREFIX ?= $(prefix)
SYSCONFDIR ?= $(sysconfdir)/yubin
PLUGINDIR ?= $(libdir)/yubin/plugins
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(PREFIX)/lib/pkgconfig
MANDIR ?= $(PREFIX)/share/man
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
INITDIR ?= $(sysconfdir)/init.d
LOGROTATEDIR ?= $(sysconfdir)/logrotate.d
# what the installed logrotate rules name (etc/logrotate/yubin)
YUBIN_HOME ?= $(localstatedir)/lib/yubin
YUBIN_USER ?= yubin
YUBIN_GROUP ?= yubin
DESTDIR ?=

WARN = -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Werror
HARDEN = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC
OPT ?= -O2 -g
DEFS = -D_GNU_SOURCE -DSYSCONFDIR='"$(SYSCONFDIR)"' -DPLUGINDIR='"$(PLUGINDIR)"'
ALL_CFLAGS = $(WARN) $(HARDEN) $(OPT) $(SAN) $(DEFS) -Ilib -Idaemon -Ihooks $(LIB_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(SAN) $(LDFLAGS)
SO_LDFLAGS = -shared -Wl,-z,relro,-z,now $(SAN) $(LDFLAGS)
LIBS = $(LIB_LIBS)

# lib/: the modules yubind, yubinctl, yubin-sendmail and the tests share;
# daemon/: yubind's alone (libyubind.a, so unit tests can link them too)
LIB_SRCS = $(wildcard lib/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(B)/%.o)
DAEMON_SRCS = $(filter-out daemon/yubind.c,$(wildcard daemon/*.c))
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(B)/%.o)
CTL_SRCS = $(wildcard tools/yubinctl*.c tools/ctl_*.c)
SENDMAIL_SRCS = $(wildcard tools/yubin-sendmail*.c)
MAILPARSER_SRCS = tools/yubin-mailparser.c
PLUGIN_SRCS = $(wildcard plugins/*.c)
# a plugin of several files is a folder plugins/NAME/, built from all its
# .c files into NAME.so and linked with PLUGIN_LIBS_NAME
PLUGIN_DIRS = $(filter-out lib,$(sort $(patsubst plugins/%/,%,$(dir $(wildcard plugins/*/*.c)))))
# plugins/lib/: helpers the shipped plugins share, a static library linked
# into each of them (not the ABI: yubind exports none of it)
PLUGUTIL = $(B)/plugins/libplugutil.a
PLUGIN_SOS = $(PLUGIN_SRCS:plugins/%.c=$(B)/plugins/%.so) \
    $(PLUGIN_DIRS:%=$(B)/plugins/%.so)
PLUGIN_LIBS_maildat = -lpcre2-8 -lresolv
PLUGIN_LIBS_ml = -lresolv
PLUGIN_LIBS_mailauth = -lcrypto -lresolv -lpsl
PLUGIN_LIBS_greylist = -lcrypto
# objects of lib/ a plugin compiles in (self-contained ones: libc only)
PLUGIN_OBJS_ml = $(B)/lib/mlfile.o
# maildat's files the unit and fuzz tests link (act.c holds the hooks)
MAILDAT_CORE = maildat mime rbl rules
TPLUGIN_SRCS = $(wildcard t/plugin/*.c)
TPLUGIN_SOS = $(TPLUGIN_SRCS:t/plugin/%.c=$(B)/t/plugin/%.so)
UNIT_SRCS = $(wildcard t/unit/*.c)
UNIT_BINS = $(UNIT_SRCS:t/unit/%.c=$(B)/t/unit/%.t)

PROGS = $(B)/yubind $(B)/yubinctl $(if $(SENDMAIL_SRCS),$(B)/yubin-sendmail) \
    $(B)/yubin-mailparser

all: $(PROGS) $(PLUGIN_SOS)

# scripts/deps installs what configure looks for; make never runs it
config.mk: configure.ac config.mk.in
	autoconf
	./configure

$(B)/%.o: %.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libyubin.a: $(LIB_OBJS) Makefile
	@rm -f $@
	ar rcs $@ $(filter %.o,$^)

$(B)/libyubind.a: $(DAEMON_OBJS) Makefile
	@rm -f $@
	ar rcs $@ $(filter %.o,$^)

# --dynamic-list: plugins resolve the yh_* accessors against yubind
# itself, and only those (hooks/yubin/hook.sym) are exported;
# --whole-archive keeps every accessor in, used by the core or not
$(B)/yubind: $(B)/daemon/yubind.o $(B)/libyubind.a $(B)/libyubin.a hooks/yubin/hook.sym
	$(CC) $(ALL_LDFLAGS) -Wl,--dynamic-list=hooks/yubin/hook.sym \
	    -o $@ $(B)/daemon/yubind.o \
	    -Wl,--whole-archive $(B)/libyubind.a $(B)/libyubin.a \
	    -Wl,--no-whole-archive $(LIBS)

# libyubind.a: "check smtp" talks through the daemon's SMTP client and
# connection code (smtpc.c, conn.c), and "fetch run" runs the fetch client
# of yubind's fetch process (fetch_run.c, pop3c.c); only what is used is
# linked in
$(B)/yubinctl: $(CTL_SRCS:%.c=$(B)/%.o) $(B)/libyubind.a $(B)/libyubin.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/yubin-sendmail: $(SENDMAIL_SRCS:%.c=$(B)/%.o) $(B)/libyubin.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/yubin-mailparser: $(MAILPARSER_SRCS:%.c=$(B)/%.o) $(B)/libyubin.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(PLUGUTIL): $(patsubst %.c,$(B)/%.o,$(wildcard plugins/lib/*.c))
	@rm -f $@
	ar rcs $@ $^

$(B)/plugins/%.so: $(B)/plugins/%.o $(PLUGUTIL)
	$(CC) $(SO_LDFLAGS) -o $@ $< $(PLUGUTIL)

define plugin_dir
$$(B)/plugins/$(1).so: $$(patsubst %.c,$$(B)/%.o,$$(wildcard plugins/$(1)/*.c)) $$(PLUGIN_OBJS_$(1)) $$(PLUGUTIL)
	$$(CC) $$(SO_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(PLUGIN_LIBS_$(1)) $$(PLUGUTIL)
endef
$(foreach d,$(PLUGIN_DIRS),$(eval $(call plugin_dir,$(d))))

$(B)/t/plugin/%.so: $(B)/t/plugin/%.o
	$(CC) $(SO_LDFLAGS) -o $@ $<

$(B)/t/unit/%.t: $(B)/t/unit/%.o $(B)/libyubind.a $(B)/libyubin.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIBS)

$(B)/t/unit/maildat.t: $(MAILDAT_CORE:%=$(B)/plugins/maildat/%.o)
# the greylist plugin's pure part (keys, lists, the decision)
$(B)/t/unit/greylist.t: $(B)/plugins/greylist/glkey.o $(B)/plugins/lib/pu_net.o
# the hooks against stubbed yh_* calls (a store that fails on demand)
$(B)/t/unit/greylist_hook.t: $(B)/plugins/greylist/glkey.o $(B)/plugins/lib/pu_net.o \
    $(B)/plugins/greylist/greylist.o $(B)/plugins/lib/pu_conf.o
# the dnsbl plugin's pure part (zones, names, answers, score, reasons)
$(B)/t/unit/dnsbl.t: $(B)/plugins/dnsbl/dbzone.o $(B)/plugins/lib/pu_net.o
# the shared DNS client (plugins/lib/dnsq.c) and mailauth's SPF, without
# the plugin's hooks
MAILAUTH_DNSQ = $(B)/plugins/lib/dnsq.o
# the clamav plugin's clamd client and notice, without its hooks
$(B)/t/unit/clamav.t: $(B)/plugins/clamav/clamd.o $(B)/plugins/clamav/notify.o
MAILAUTH_SPF = $(MAILAUTH_DNSQ) $(B)/plugins/mailauth/spf.o
$(B)/t/unit/spf_suite.t: $(MAILAUTH_SPF)
$(B)/t/unit/dnsq.t: $(MAILAUTH_SPF)
# mailauth's DKIM files (and the DNS question they ask through) the unit
# and fuzz tests link
DKIM_CORE = dkim_canon dkim_sign dkim_tag dkim_verify
$(B)/t/unit/dkim.t: $(DKIM_CORE:%=$(B)/plugins/mailauth/%.o) $(MAILAUTH_DNSQ)
# DMARC and Authentication-Results (the DMARC test answers DNS itself)
$(B)/t/unit/dmarc.t: $(B)/plugins/mailauth/dmarc.o $(MAILAUTH_DNSQ)
$(B)/t/unit/dmarc.t: LIBS += -lpsl
$(B)/t/unit/authres.t: $(B)/plugins/mailauth/authres.o

tests: all $(UNIT_BINS) $(TPLUGIN_SOS)

# FUZZ_CHECK=no leaves the fuzz targets out (check-asan: they carry ASan
# already); without clang they are skipped with a note
FUZZ_CHECK ?= yes
check: tests
	YUBIN_BUILD=$(abspath $(B)) prove -r t/ $(B)/t/unit/
	@if [ "$(FUZZ_CHECK)" != yes ]; then :; \
	elif command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory fuzz; \
	else echo "fuzz: skipped, no $(FUZZ_CC) (scripts/deps installs it)"; fi

# handle_segv=0: a worker that crashes (the hook tests crash one on purpose)
# dies of its signal, as in the plain build, so the master can name it
check-asan:
	@ASAN_OPTIONS=handle_segv=0:$(ASAN_OPTIONS) $(MAKE) --no-print-directory \
	    B=build-asan OPT='-O1 -g' \
	    SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	    FUZZ_CHECK=no check

run: all
	scripts/run $(B)

install: all
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(SYSCONFDIR)
	install -m 755 $(B)/yubind $(DESTDIR)$(sbindir)/yubind
	install -m 755 $(B)/yubinctl $(DESTDIR)$(sbindir)/yubinctl
	$(if $(SENDMAIL_SRCS),install -m 755 $(B)/yubin-sendmail $(DESTDIR)$(bindir)/yubin-sendmail)
	install -m 755 $(B)/yubin-mailparser $(DESTDIR)$(bindir)/yubin-mailparser
	$(if $(PLUGIN_SOS),install -m 644 $(PLUGIN_SOS) $(DESTDIR)$(PLUGINDIR)/)
	install -d $(DESTDIR)$(INCLUDEDIR)/yubin $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 hooks/yubin/hook.h hooks/yubin/hook.sym $(DESTDIR)$(INCLUDEDIR)/yubin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PLUGINDIR@|$(PLUGINDIR)|' \
	    -e "s|@ABI@|$$(sed -n 's/^#define YH_ABI_VERSION[[:space:]]*//p' hooks/yubin/hook.h)|" \
	    hooks/yubin/yubin-plugin.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/yubin-plugin.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/yubin-plugin.pc
	for f in etc/*.conf etc/*.dat; do [ -e "$$f" ] || continue; \
	    [ -e $(DESTDIR)$(SYSCONFDIR)/$${f#etc/} ] || install -m 644 $$f $(DESTDIR)$(SYSCONFDIR)/; done
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 644 doc/man/yubind.8 doc/man/yubinctl.8 doc/man/yubin-sendmail.8 \
	    $(DESTDIR)$(MANDIR)/man8/
	install -m 644 doc/man/yubin.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(INITDIR) $(DESTDIR)$(LOGROTATEDIR)
	sed -e 's|/usr/local/sbin/|$(sbindir)/|' -e 's|/usr/local/etc/yubin/|$(SYSCONFDIR)/|' \
	    etc/init/yubind.service > $(DESTDIR)$(SYSTEMDDIR)/yubind.service
	chmod 644 $(DESTDIR)$(SYSTEMDDIR)/yubind.service
	sed -e 's|^PATH=/usr/local/sbin:|PATH=$(sbindir):|' -e 's|/usr/local/etc/yubin/|$(SYSCONFDIR)/|' \
	    etc/init/yubind.sysv > $(DESTDIR)$(INITDIR)/yubind
	chmod 755 $(DESTDIR)$(INITDIR)/yubind
	[ -e $(DESTDIR)$(LOGROTATEDIR)/yubin ] || { sed -e 's|@YUBIN_HOME@|$(YUBIN_HOME)|g' \
	    -e 's|@YUBIN_USER@|$(YUBIN_USER)|g' -e 's|@YUBIN_GROUP@|$(YUBIN_GROUP)|g' \
	    etc/logrotate/yubin > $(DESTDIR)$(LOGROTATEDIR)/yubin && \
	    chmod 644 $(DESTDIR)$(LOGROTATEDIR)/yubin; }

clean:
	rm -rf build build-asan $(FB)

distclean: clean
	rm -rf config.mk configure config.log config.status autom4te.cache

.PHONY: all tests check check-asan run install clean distclean
.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# Fuzzing (libFuzzer, needs clang): every t/fuzz/NAME_fuzz.c is one target,
# built against the daemon's objects compiled again with clang into
# $(FB)/ (-fsanitize=fuzzer-no-link,address,undefined); its seed corpus is
# t/fuzz/corpus/NAME/.  Adding a target is adding a file.
#   make fuzz                       build every target, run each FUZZ_BRIEF s
#   make fuzz-long FUZZ_TIME=3600   run each target FUZZ_TIME s in turn
# Both print a table target -> executions, exec/s, crashes (scripts/fuzz-report);
# new inputs go to $(FB)/corpus/NAME/, crashes to $(FB)/crash/.
FUZZ_CC ?= clang
FB ?= build-fuzz
FUZZ_BRIEF ?= 6
FUZZ_TIME ?= 600
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -Wall -Wextra -Wno-unused-function -g -O1 $(FUZZ_SAN) \
    $(DEFS) -Ilib -Idaemon -Ihooks $(LIB_CFLAGS)
FUZZ_SRCS = $(wildcard t/fuzz/*_fuzz.c)
FUZZ_BINS = $(FUZZ_SRCS:t/fuzz/%.c=$(FB)/%)
FUZZ_LIB_OBJS = $(LIB_SRCS:%.c=$(FB)/%.o) $(DAEMON_SRCS:%.c=$(FB)/%.o)

$(FB)/%.o: %.c config.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DPASSWD_LN=4 \
	    -MMD -MP -c -o $@ $<

$(FB)/libyubin.a: $(FUZZ_LIB_OBJS) Makefile
	@rm -f $@
	ar rcs $@ $(filter %.o,$^)

$(FB)/%_fuzz: t/fuzz/%_fuzz.c $(FB)/libyubin.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -MT $@ -MF $@.d -o $@ $< \
	    $(filter %.o,$^) $(FB)/libyubin.a $(LIBS) -lpthread

$(FB)/maildat_fuzz: $(MAILDAT_CORE:%=$(FB)/plugins/maildat/%.o)
$(FB)/spf_fuzz: $(FB)/plugins/lib/dnsq.o $(FB)/plugins/mailauth/spf.o
$(FB)/dnsq_fuzz: $(FB)/plugins/lib/dnsq.o
$(FB)/dkimsig_fuzz: $(DKIM_CORE:%=$(FB)/plugins/mailauth/%.o) $(FB)/plugins/lib/dnsq.o
$(FB)/dmarc_fuzz: $(FB)/plugins/mailauth/dmarc.o $(FB)/plugins/mailauth/authres.o \
    $(FB)/plugins/lib/dnsq.o
$(FB)/dmarc_fuzz: LIBS += -lpsl

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	scripts/fuzz-report $(FB) $(FUZZ_BRIEF) $(FUZZ_BINS)

fuzz-long: fuzz-build
	scripts/fuzz-report $(FB) $(FUZZ_TIME) $(FUZZ_BINS)

-include $(shell find $(FB) -name '*.d' 2>/dev/null)
.PHONY: fuzz fuzz-build fuzz-long
