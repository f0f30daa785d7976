/*
 * bounce.c - bounces of list mail at NAME-bounces@ (DESIGN §11).
 */
#include <yubin/hook.h>

#include "ml.h"

int
ml_bounce(struct ml_ctx *c)
{
	yh_dlv_reply(c->d, 451, "4.3.0", "list %s: bounces not built", c->addr);
	return YH_DENYSOFT;
}
