/*
 * request.c - the NAME-request commands (SEEDS §18.3, DESIGN §11).
 */
#include <yubin/hook.h>

#include "ml.h"

int
ml_request(struct ml_ctx *c)
{
	yh_dlv_reply(c->d, 451, "4.3.0", "list %s: commands not built", c->addr);
	return YH_DENYSOFT;
}
