/*
 * spawn - the core side of yh_spawn (hooks/yubin/hook.h, the contract):
 * per-mailbox programs run without a shell, supervised, bounded in time,
 * output and number.  The plugin ABI call is the interface; this header
 * only gives the hook chains what they need to keep the process tidy.
 */
#ifndef YUBIN_SPAWN_H
#define YUBIN_SPAWN_H

/* spawn_reap - collect the supervisors of unwaited programs that ended
 * (this process's own pids only, never waitpid(-1): the queue manager's
 * other children are left alone).  Cheap when none runs; called before
 * every hook chain. */
void	spawn_reap(void);

#endif
