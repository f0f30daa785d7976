/*
 * committer - the process that commits incoming envelopes in batches
 * (lib/qcommit.h).
 */
#ifndef YUBIN_COMMITTER_H
#define YUBIN_COMMITTER_H

struct config;

/* committer_main - serve the shared channel CHAN until SIGTERM or the
 * master's end; never returns. */
void	committer_main(const struct config *cfg, int chan) __attribute__((noreturn));

#endif
