/* probe.c exercises every part of lambda.h for lambdac_test.go. args[0]
 * picks the mode; see the cases below. */
#define LAMBDA_IMPLEMENTATION
#include "lambda.h"

#include <stdlib.h>
#include <string.h>

/* dump prints everything the lambda was given and copies each dependency
 * to a put "copy/KEY"; return_code is the number of args. */
static ExecResponse dump(const ExecArgs *a)
{
	ExecResponse r = lkv_response();
	size_t i, n;
	const unsigned char *v;
	char key[128];
	lkv_printf(&r, "argc=%zu\n", lkv_argc(a));
	for (i = 0; i < lkv_argc(a); i++)
		lkv_printf(&r, "arg %zu=%s (%zu)\n", i, lkv_arg(a, i), a->arg_len[i]);
	if (lkv_arg(a, i) != NULL || a->argv[a->argc] != NULL)
		lkv_print(&r, "argv not NULL-terminated\n");
	for (i = 0; i < a->nvalues; i++) {
		v = lkv_value(a, a->values[i].key, &n);
		lkv_printf(&r, "value %s=", a->values[i].key);
		lkv_write(&r, v, n);
		lkv_print(&r, "\n");
		snprintf(key, sizeof key, "copy/%s", a->values[i].key);
		lkv_put(&r, key, v, n, LKV_R);
	}
	for (i = 0; i < a->nfiles; i++) {
		const char *path = lkv_file(a, a->files[i].key);
		v = lkv_dep(a, a->files[i].key, &n);
		lkv_printf(&r, "file %s@%s=", a->files[i].key, path ? path : "(none)");
		if (v)
			lkv_write(&r, v, n);
		else
			lkv_print(&r, "(unreadable)");
		lkv_print(&r, "\n");
		snprintf(key, sizeof key, "copy/%s", a->files[i].key);
		if (v)
			lkv_put(&r, key, v, n, LKV_RW);
	}
	if (lkv_value(a, "no such key", NULL) || lkv_file(a, "no such key") || lkv_dep(a, "no such key", NULL))
		lkv_print(&r, "lookup of a missing key succeeded\n");
	r.return_code = (int)lkv_argc(a);
	return r;
}

/* big writes args[1] bytes of output and args[2] puts of args[3] bytes. */
static ExecResponse big(const ExecArgs *a)
{
	ExecResponse r = lkv_response();
	size_t out = strtoul(lkv_arg(a, 1), NULL, 10), puts = strtoul(lkv_arg(a, 2), NULL, 10);
	size_t size = strtoul(lkv_arg(a, 3), NULL, 10), i;
	char *buf = (char *)malloc(size + out + 301), key[64];
	memset(buf, 'x', size + out + 300);
	buf[size + out + 300] = '\0';
	for (i = 0; i < out; i += 1000)
		lkv_write(&r, buf, out - i < 1000 ? out - i : 1000);
	for (i = 0; i < puts; i++) {
		snprintf(key, sizeof key, "big/%zu", i);
		lkv_put(&r, key, buf, size, LKV_RW);
	}
	lkv_printf(&r, "%s", "");                /* nothing */
	lkv_printf(&r, "%.*s", 300, buf);       /* longer than printf's fast path */
	free(buf);
	return r;
}

ExecResponse lkv_handler(const ExecArgs *a)
{
	const char *mode = lkv_argc(a) ? lkv_arg(a, 0) : "dump";
	ExecResponse r = lkv_response();
	if (strcmp(mode, "big") == 0)
		return big(a);
	if (strcmp(mode, "error") == 0)
		return lkv_error(7, "failed: %s", "on purpose");
	if (strcmp(mode, "negative") == 0) {
		r.return_code = -70000;
		return r;
	}
	if (strcmp(mode, "badperm") == 0) {
		lkv_put_str(&r, "k", "v", LKV_W);
		lkv_print(&r, "this output is replaced");
		return r;
	}
	if (strcmp(mode, "permbits") == 0) {
		lkv_put_str(&r, "k", "v", 8 | LKV_R);
		return r;
	}
	if (strcmp(mode, "emptykey") == 0) {
		lkv_put_str(&r, "", "v", LKV_R);
		return r;
	}
	if (strcmp(mode, "dup") == 0) {
		lkv_put_str(&r, "a", "1", LKV_R);
		lkv_put_str(&r, "b", "2", LKV_R);
		lkv_put_str(&r, "a", "3", LKV_R);
		return r;
	}
	return dump(a);
}
