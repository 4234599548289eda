// Package lambdac holds lambda.h, the single-header runtime for lambdas
// written in C or C++, and the Go tests that build C and C++ programs with
// it and check them against the Go codecs of package lambda. It has no Go
// API; the header documents itself.
//
// # Basics
//
// In exactly one C or C++ file:
//
//	#define LAMBDA_IMPLEMENTATION
//	#include "lambda.h"
//
//	ExecResponse lkv_handler(const ExecArgs *args)
//	{
//		ExecResponse r = lkv_response();
//		lkv_printf(&r, "%zu args\n", lkv_argc(args));
//		return r;
//	}
//
// Build a static executable with gcc -static -O2 -I jail/lambda/c and
// upload it with lkv put NAME ./bin --perm rx. The header speaks the
// runtime-mode protocol of package lambda (jail/lambda/doc.go) and needs
// nothing beyond the C standard library.
package lambdac
