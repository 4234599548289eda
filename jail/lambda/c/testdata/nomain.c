/* nomain.c checks the configuration macros: its own main() around
 * lkv_serve() and a small input limit. */
#define LKV_MAX_INPUT 64
#define LAMBDA_NO_MAIN
#define LAMBDA_IMPLEMENTATION
#include "lambda.h"

#include <stdio.h>

ExecResponse lkv_handler(const ExecArgs *a)
{
	ExecResponse r = lkv_response();
	size_t len;
	lkv_printf(&r, "%zu args\n", lkv_argc(a));
	lkv_output(&r, &len);
	r.return_code = (int)len;
	return r;
}

int main(void)
{
	fprintf(stderr, "custom main\n");
	return lkv_serve();
}
