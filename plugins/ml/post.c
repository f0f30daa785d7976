/*
 * post.c - distribution of a post to a list's members (DESIGN §11).
 */
#include <yubin/hook.h>

#include "ml.h"

int
ml_post(struct ml_ctx *c)
{
	yh_dlv_reply(c->d, 451, "4.3.0", "list %s: distribution not built",
	    c->addr);
	return YH_DENYSOFT;
}
