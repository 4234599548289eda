/*
 * lambda.h - the lambdakv runtime for lambdas written in C or C++.
 *
 * A single header with no dependency beyond the C standard library. It
 * speaks the runtime-mode protocol documented in jail/lambda/doc.go: it
 * reads one msgpack ExecArgs map from stdin, calls your handler, and writes
 * one msgpack ExecResponse map to stdout.
 *
 * Usage: in exactly one C or C++ file,
 *
 *     #define LAMBDA_IMPLEMENTATION
 *     #include "lambda.h"
 *
 *     ExecResponse lkv_handler(const ExecArgs *args)
 *     {
 *         ExecResponse r = lkv_response();
 *         lkv_printf(&r, "hello, %s\n", lkv_argc(args) > 0 ? lkv_arg(args, 0) : "world");
 *         lkv_put(&r, "greeting", "hi", 2, LKV_R);
 *         return r;
 *     }
 *
 * and build a static executable:
 *
 *     gcc -static -O2 -I jail/lambda/c -o hello hello.c
 *
 * The header then defines main(). Define LAMBDA_NO_MAIN before including it
 * to write your own main() and call lkv_serve() from it.
 *
 * Behaviour (the same as the Go runtime, jail/lambda):
 *  - Functions that build a response return 0 on success and -1 on error
 *    (bad key, bad perm, out of memory). The first error is remembered: the
 *    response then goes out as return_code 1 with the output
 *    "lambda: invalid response: REASON" and no puts, so a mistake is never
 *    silently half-applied. Putting one key twice is such an error.
 *  - If stdin does not hold valid ExecArgs (for example the lambda was run
 *    with lkv exec --raw), nothing is run: the reason is printed on stdout
 *    and stderr and the process exits with status 2. If stdout cannot be
 *    written it exits with status 1. Otherwise it exits with status 0,
 *    whatever the return_code.
 *  - Input is bounds-checked throughout: declared lengths and counts larger
 *    than the input are refused before anything is allocated, nesting of
 *    unknown fields is limited to 32 levels, unknown fields are skipped.
 *  - Strings (args, keys, paths) are NUL-terminated copies; an argument that
 *    contains a NUL byte appears truncated (its full length is in
 *    arg_len). Inline values are NOT NUL-terminated: use their length.
 *  - Do not write to stdout yourself (printf, puts): it would corrupt the
 *    response. Use lkv_printf for output and stderr for diagnostics.
 *
 * Configuration, by #define before the #include:
 *  LKV_MAX_INPUT   most bytes of ExecArgs read from stdin (default 1 GiB).
 *  LAMBDA_NO_MAIN  do not define main(); call lkv_serve() yourself.
 */
#ifndef LAMBDAKV_LAMBDA_H
#define LAMBDAKV_LAMBDA_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef LKV_MAX_INPUT
#define LKV_MAX_INPUT ((size_t)1 << 30)
#endif

/* LKV_MAX_KEY is the longest key a put may name, in bytes. */
#define LKV_MAX_KEY 16384

/* Permission bits of a put (R is required; without W a key is immutable). */
enum {
	LKV_R = 1,
	LKV_W = 2,
	LKV_X = 4,
	LKV_RW = LKV_R | LKV_W,
	LKV_RX = LKV_R | LKV_X,
	LKV_RWX = LKV_R | LKV_W | LKV_X
};

/* ExecValue is a dependency passed inline: its key and its bytes. */
typedef struct ExecValue {
	const char *key; /* NUL-terminated */
	size_t key_len;
	const unsigned char *data; /* not NUL-terminated */
	size_t len;
} ExecValue;

/* ExecFile is a dependency passed as a file in the working directory. */
typedef struct ExecFile {
	const char *key; /* NUL-terminated */
	size_t key_len;
	const char *path; /* NUL-terminated, relative to the working directory */
} ExecFile;

/* ExecArgs is what the node hands the lambda. Read it directly or through
 * the accessors below. values and files are sorted by key. */
typedef struct ExecArgs {
	size_t argc;
	const char *const *argv; /* argv[argc] is NULL */
	const size_t *arg_len;   /* byte length of each argument */
	size_t nvalues;
	const ExecValue *values;
	size_t nfiles;
	const ExecFile *files;
} ExecArgs;

/* ExecResponse is what the lambda answers. Create one with lkv_response()
 * and fill it with the functions below; set return_code directly. The other
 * fields are private to the runtime. */
typedef struct ExecResponse {
	int return_code;
	unsigned char *lkv_out_;
	size_t lkv_out_len_, lkv_out_cap_;
	unsigned char *lkv_puts_; /* encoded put maps */
	size_t lkv_puts_len_, lkv_puts_cap_, lkv_nputs_;
	size_t *lkv_keys_; /* per put: offset and length of its key in lkv_puts_ */
	size_t lkv_keys_cap_;
	char lkv_err_[200]; /* first error, "" if none */
} ExecResponse;

/* lkv_handler is the function you write. It runs once per process. */
ExecResponse lkv_handler(const ExecArgs *args);

/* Arguments: the lkv exec --arg strings, in order. lkv_arg returns NULL
 * when i >= lkv_argc(a). */
size_t lkv_argc(const ExecArgs *a);
const char *lkv_arg(const ExecArgs *a, size_t i);

/* lkv_value returns the inline dependency key (and its length in *len, if
 * len is not NULL), or NULL if key was not passed inline. */
const unsigned char *lkv_value(const ExecArgs *a, const char *key, size_t *len);

/* lkv_file returns the path of the file dependency key, or NULL if key was
 * not passed as a file. */
const char *lkv_file(const ExecArgs *a, const char *key);

/* lkv_dep returns dependency key however it was passed: the inline value, or
 * the file's contents read into memory that stays valid until the process
 * exits (NUL-terminated; read again on every call). NULL if key is not a
 * dependency or its file cannot be read. */
const unsigned char *lkv_dep(const ExecArgs *a, const char *key, size_t *len);

/* lkv_read_file reads the file at path into a NUL-terminated buffer from
 * malloc (free it yourself) and stores its length in *len, if len is not
 * NULL. NULL on error. */
unsigned char *lkv_read_file(const char *path, size_t *len);

/* lkv_response returns an empty response: return_code 0, no output, no puts. */
ExecResponse lkv_response(void);

/* lkv_write, lkv_print and lkv_printf append to the output (return_output). */
int lkv_write(ExecResponse *r, const void *data, size_t len);
int lkv_print(ExecResponse *r, const char *s);
int lkv_printf(ExecResponse *r, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
int lkv_vprintf(ExecResponse *r, const char *fmt, va_list ap);

/* lkv_output returns the output written so far and its length in *len (if
 * len is not NULL); the pointer is valid until the next write. */
const unsigned char *lkv_output(const ExecResponse *r, size_t *len);

/* lkv_put asks the node to store value (len bytes) under key with perm (a
 * combination of LKV_R, LKV_W, LKV_X that includes LKV_R). The bytes are
 * copied. lkv_put_str puts a NUL-terminated string. */
int lkv_put(ExecResponse *r, const char *key, const void *value, size_t len, unsigned perm);
int lkv_put_str(ExecResponse *r, const char *key, const char *value, unsigned perm);

/* lkv_error returns a response with return_code code and the formatted
 * message (plus a newline) as output: return lkv_error(1, "no %s", k); */
ExecResponse lkv_error(int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* lkv_response_free releases a response's memory; the runtime calls it
 * after sending. */
void lkv_response_free(ExecResponse *r);

/* lkv_serve reads ExecArgs from stdin, calls lkv_handler, writes the
 * ExecResponse to stdout, and returns the process exit status (0, 1 or 2,
 * see above). The generated main() is just "return lkv_serve();". */
int lkv_serve(void);

#ifdef __cplusplus
}
#endif

#endif /* LAMBDAKV_LAMBDA_H */

/* ---------------------------------------------------------------------- */
/* Implementation                                                          */
/* ---------------------------------------------------------------------- */

#if defined(LAMBDA_IMPLEMENTATION) && !defined(LAMBDAKV_LAMBDA_IMPLEMENTED)
#define LAMBDAKV_LAMBDA_IMPLEMENTED

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LKV_I_MAX_DEPTH 32

/* ---- reading msgpack ---------------------------------------------------- */

/* lkv_i_rd is a bounds-checked cursor over the input. */
typedef struct lkv_i_rd {
	const unsigned char *p, *end;
} lkv_i_rd;

static size_t lkv_i_left(const lkv_i_rd *r) { return (size_t)(r->end - r->p); }

/* lkv_i_be reads an n-byte big-endian unsigned integer. */
static const char *lkv_i_be(lkv_i_rd *r, int n, uint64_t *v)
{
	int i;
	if (lkv_i_left(r) < (size_t)n)
		return "unexpected end of input";
	*v = 0;
	for (i = 0; i < n; i++)
		*v = (*v << 8) | *r->p++;
	return NULL;
}

/* lkv_i_raw_len reads the header of a str (and of a bin if allow_bin) and
 * checks that its bytes are all there. nil reads as length 0 if allow_nil. */
static const char *lkv_i_raw_len(lkv_i_rd *r, int allow_bin, int allow_nil, size_t *n)
{
	unsigned c;
	uint64_t v = 0;
	const char *err = NULL;
	if (r->p >= r->end)
		return "unexpected end of input";
	c = *r->p++;
	if ((c & 0xe0) == 0xa0)
		v = c & 0x1f;
	else if (c == 0xd9 || (allow_bin && c == 0xc4))
		err = lkv_i_be(r, 1, &v);
	else if (c == 0xda || (allow_bin && c == 0xc5))
		err = lkv_i_be(r, 2, &v);
	else if (c == 0xdb || (allow_bin && c == 0xc6))
		err = lkv_i_be(r, 4, &v);
	else if (c == 0xc0 && allow_nil)
		v = 0;
	else
		return allow_bin ? "want bin" : "want str";
	if (err)
		return err;
	if (v > lkv_i_left(r))
		return "length exceeds the input";
	*n = (size_t)v;
	return NULL;
}

/* lkv_i_container reads a map (is_map) or array header; nil reads as 0
 * elements if allow_nil. Counts larger than the input could hold are
 * refused. */
static const char *lkv_i_container(lkv_i_rd *r, int is_map, int allow_nil, size_t *n)
{
	unsigned c, fix = is_map ? 0x80 : 0x90, w16 = is_map ? 0xde : 0xdc;
	uint64_t v = 0;
	const char *err = NULL;
	if (r->p >= r->end)
		return "unexpected end of input";
	c = *r->p++;
	if ((c & 0xf0) == fix)
		v = c & 0x0f;
	else if (c == w16)
		err = lkv_i_be(r, 2, &v);
	else if (c == w16 + 1)
		err = lkv_i_be(r, 4, &v);
	else if (c == 0xc0 && allow_nil)
		v = 0;
	else
		return is_map ? "want map" : "want array";
	if (err)
		return err;
	if (v > lkv_i_left(r) / (is_map ? 2 : 1))
		return "element count exceeds the input";
	*n = (size_t)v;
	return NULL;
}

/* lkv_i_skip skips one value of any type. */
static const char *lkv_i_skip(lkv_i_rd *r, int depth)
{
	unsigned c;
	uint64_t n = 0, i;
	const char *err = NULL;
	if (depth > LKV_I_MAX_DEPTH)
		return "nested too deeply";
	if (r->p >= r->end)
		return "unexpected end of input";
	c = *r->p;
	if ((c & 0xe0) == 0xa0 || c == 0xc4 || c == 0xc5 || c == 0xc6 || c == 0xd9 || c == 0xda ||
	    c == 0xdb) {
		size_t len;
		err = lkv_i_raw_len(r, 1, 0, &len);
		if (!err)
			r->p += len;
		return err;
	}
	if ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf || (c & 0xf0) == 0x90 || c == 0xdc ||
	    c == 0xdd) {
		int is_map = (c & 0xf0) == 0x80 || c == 0xde || c == 0xdf;
		size_t cnt;
		err = lkv_i_container(r, is_map, 0, &cnt);
		n = is_map ? (uint64_t)cnt * 2 : cnt;
		for (i = 0; i < n && !err; i++)
			err = lkv_i_skip(r, depth + 1);
		return err;
	}
	r->p++;
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return NULL; /* fixint, nil, bool */
	switch (c) {
	case 0xcc: case 0xd0: n = 1; break;
	case 0xcd: case 0xd1: n = 2; break;
	case 0xca: case 0xce: case 0xd2: n = 4; break;
	case 0xcb: case 0xcf: case 0xd3: n = 8; break;
	case 0xd4: n = 2; break; /* fixext: type byte + data */
	case 0xd5: n = 3; break;
	case 0xd6: n = 5; break;
	case 0xd7: n = 9; break;
	case 0xd8: n = 17; break;
	case 0xc7: err = lkv_i_be(r, 1, &n); n++; break; /* ext: length, type, data */
	case 0xc8: err = lkv_i_be(r, 2, &n); n++; break;
	case 0xc9: err = lkv_i_be(r, 4, &n); n++; break;
	default: return "invalid msgpack code";
	}
	if (err)
		return err;
	if (n > lkv_i_left(r))
		return "unexpected end of input";
	r->p += n;
	return NULL;
}

/* lkv_i_dec is the decoder's state: the arena that holds the
 * NUL-terminated copies of strings, and the arrays it fills. */
typedef struct lkv_i_dec {
	char *arena, *arena_end;
	const char **argv;
	size_t *arg_len;
	ExecValue *values;
	ExecFile *files;
	size_t argc, nvalues, nfiles;
} lkv_i_dec;

/* lkv_i_str reads a str and copies it, NUL-terminated, into the arena. Each
 * string takes at least one header byte in the input, so an arena the size
 * of the input always holds every string plus its NUL. */
static const char *lkv_i_str(lkv_i_rd *r, lkv_i_dec *d, const char **s, size_t *n)
{
	const char *err = lkv_i_raw_len(r, 0, 0, n);
	if (err)
		return err;
	if ((size_t)(d->arena_end - d->arena) < *n + 1)
		return "out of arena";
	memcpy(d->arena, r->p, *n);
	d->arena[*n] = '\0';
	*s = d->arena;
	d->arena += *n + 1;
	r->p += *n;
	return NULL;
}

static const char *lkv_i_args(lkv_i_rd *r, lkv_i_dec *d)
{
	size_t n, i;
	const char *err = lkv_i_container(r, 0, 1, &n);
	if (err)
		return err;
	d->argv = (const char **)calloc(n + 1, sizeof *d->argv);
	d->arg_len = (size_t *)calloc(n + 1, sizeof *d->arg_len);
	if (!d->argv || !d->arg_len)
		return "out of memory";
	for (i = 0; i < n && !err; i++)
		err = lkv_i_str(r, d, &d->argv[i], &d->arg_len[i]);
	d->argc = n;
	return err;
}

static const char *lkv_i_values(lkv_i_rd *r, lkv_i_dec *d)
{
	size_t n, i;
	const char *err = lkv_i_container(r, 1, 1, &n);
	if (err)
		return err;
	d->values = (ExecValue *)calloc(n + 1, sizeof *d->values);
	if (!d->values)
		return "out of memory";
	for (i = 0; i < n && !err; i++) {
		ExecValue *v = &d->values[i];
		err = lkv_i_str(r, d, &v->key, &v->key_len);
		if (!err)
			err = lkv_i_raw_len(r, 1, 1, &v->len);
		if (!err) {
			v->data = r->p;
			r->p += v->len;
		}
	}
	d->nvalues = n;
	return err;
}

static const char *lkv_i_files(lkv_i_rd *r, lkv_i_dec *d)
{
	size_t n, i, plen;
	const char *err = lkv_i_container(r, 1, 1, &n);
	if (err)
		return err;
	d->files = (ExecFile *)calloc(n + 1, sizeof *d->files);
	if (!d->files)
		return "out of memory";
	for (i = 0; i < n && !err; i++) {
		ExecFile *f = &d->files[i];
		err = lkv_i_str(r, d, &f->key, &f->key_len);
		if (!err)
			err = lkv_i_str(r, d, &f->path, &plen);
	}
	d->nfiles = n;
	return err;
}

/* lkv_i_keycmp orders keys as byte strings (shorter first on a tie). */
static int lkv_i_keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

static int lkv_i_value_cmp(const void *x, const void *y)
{
	const ExecValue *a = (const ExecValue *)x, *b = (const ExecValue *)y;
	return lkv_i_keycmp(a->key, a->key_len, b->key, b->key_len);
}

static int lkv_i_file_cmp(const void *x, const void *y)
{
	const ExecFile *a = (const ExecFile *)x, *b = (const ExecFile *)y;
	return lkv_i_keycmp(a->key, a->key_len, b->key, b->key_len);
}

/* lkv_i_sort sorts values and files by key and refuses duplicates, so that
 * lookups can use binary search. */
static const char *lkv_i_sort(lkv_i_dec *d)
{
	size_t i;
	if (d->nvalues > 1)
		qsort(d->values, d->nvalues, sizeof *d->values, lkv_i_value_cmp);
	if (d->nfiles > 1)
		qsort(d->files, d->nfiles, sizeof *d->files, lkv_i_file_cmp);
	for (i = 1; i < d->nvalues; i++)
		if (lkv_i_value_cmp(&d->values[i - 1], &d->values[i]) == 0)
			return "values: duplicate key";
	for (i = 1; i < d->nfiles; i++)
		if (lkv_i_file_cmp(&d->files[i - 1], &d->files[i]) == 0)
			return "files: duplicate key";
	return NULL;
}

/* lkv_i_field decodes one field of the ExecArgs map. */
static const char *lkv_i_field(lkv_i_rd *r, lkv_i_dec *d, unsigned *seen, const char **name)
{
	static const char *const names[] = {"args", "values", "files"};
	const char *key;
	size_t n, i;
	const char *err = lkv_i_str(r, d, &key, &n);
	if (err)
		return err;
	*name = key;
	for (i = 0; i < 3; i++)
		if (n == strlen(names[i]) && memcmp(key, names[i], n) == 0)
			break;
	if (i == 3)
		return lkv_i_skip(r, 1);
	if (*seen & (1u << i))
		return "duplicate field";
	*seen |= 1u << i;
	if (i == 0)
		return lkv_i_args(r, d);
	if (i == 1)
		return lkv_i_values(r, d);
	return lkv_i_files(r, d);
}

/* lkv_i_decode parses buf as exactly one ExecArgs map into *a. On error it
 * writes the reason to msg. */
static int lkv_i_decode(const unsigned char *buf, size_t len, lkv_i_dec *d, char *msg, size_t msgsz)
{
	lkv_i_rd r;
	size_t n, i;
	unsigned seen = 0;
	const char *name = "", *err;
	r.p = buf;
	r.end = buf + len;
	d->arena = (char *)malloc(len + 1);
	d->arena_end = d->arena ? d->arena + len + 1 : NULL;
	err = d->arena ? lkv_i_container(&r, 1, 0, &n) : "out of memory";
	for (i = 0; !err && i < n; i++)
		err = lkv_i_field(&r, d, &seen, &name);
	if (!err && r.p != r.end)
		err = "trailing bytes after the message";
	if (!err) {
		if (!d->argv) { /* no "args" field: an empty, NULL-terminated argv */
			d->argv = (const char **)calloc(1, sizeof *d->argv);
			d->arg_len = (size_t *)calloc(1, sizeof *d->arg_len);
			if (!d->argv || !d->arg_len)
				err = "out of memory";
		}
		if (!err)
			err = lkv_i_sort(d);
	}
	if (err) {
		snprintf(msg, msgsz, "lambda: malformed ExecArgs: %s%s%s", name, *name ? ": " : "", err);
		return -1;
	}
	return 0;
}

/* ---- accessors ---------------------------------------------------------- */

size_t lkv_argc(const ExecArgs *a) { return a->argc; }

const char *lkv_arg(const ExecArgs *a, size_t i) { return i < a->argc ? a->argv[i] : NULL; }

const unsigned char *lkv_value(const ExecArgs *a, const char *key, size_t *len)
{
	size_t lo = 0, hi = a->nvalues, kn = strlen(key);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = lkv_i_keycmp(a->values[mid].key, a->values[mid].key_len, key, kn);
		if (c == 0) {
			if (len)
				*len = a->values[mid].len;
			/* an empty value may have no bytes behind it: never return NULL */
			return a->values[mid].len ? a->values[mid].data : (const unsigned char *)"";
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *lkv_file(const ExecArgs *a, const char *key)
{
	size_t lo = 0, hi = a->nfiles, kn = strlen(key);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = lkv_i_keycmp(a->files[mid].key, a->files[mid].key_len, key, kn);
		if (c == 0)
			return a->files[mid].path;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

unsigned char *lkv_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL, *nb;
	size_t n = 0, cap = 0, got;
	int ok = 1;
	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			nb = (unsigned char *)realloc(buf, cap + 1);
			if (!nb) {
				ok = 0;
				break;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		ok = 0;
	fclose(f);
	if (!ok) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

const unsigned char *lkv_dep(const ExecArgs *a, const char *key, size_t *len)
{
	const unsigned char *v = lkv_value(a, key, len);
	const char *path;
	if (v)
		return v;
	path = lkv_file(a, key);
	return path ? lkv_read_file(path, len) : NULL;
}

/* ---- building the response ---------------------------------------------- */

ExecResponse lkv_response(void)
{
	ExecResponse r;
	memset(&r, 0, sizeof r);
	return r;
}

/* lkv_i_fail records the first error of a response. */
static int lkv_i_fail(ExecResponse *r, const char *what, const char *key)
{
	if (!r->lkv_err_[0])
		snprintf(r->lkv_err_, sizeof r->lkv_err_, "%s%s%.60s%s", what, key ? " (key \"" : "",
			 key ? key : "", key ? "\")" : "");
	return -1;
}

/* lkv_i_grow makes room for add more bytes in a buffer. */
static int lkv_i_grow(ExecResponse *r, unsigned char **buf, size_t len, size_t *cap, size_t add)
{
	size_t ncap;
	unsigned char *nb;
	if (add <= *cap - len)
		return 0;
	if (add > (size_t)0xffffffffu - len)
		return lkv_i_fail(r, "response part longer than 4 GiB", NULL);
	ncap = *cap ? *cap : 256;
	while (ncap - len < add)
		ncap = ncap > ((size_t)1 << 62) ? len + add : ncap * 2;
	nb = (unsigned char *)realloc(*buf, ncap);
	if (!nb)
		return lkv_i_fail(r, "out of memory", NULL);
	*buf = nb;
	*cap = ncap;
	return 0;
}

int lkv_write(ExecResponse *r, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (lkv_i_grow(r, &r->lkv_out_, r->lkv_out_len_, &r->lkv_out_cap_, len))
		return -1;
	memcpy(r->lkv_out_ + r->lkv_out_len_, data, len);
	r->lkv_out_len_ += len;
	return 0;
}

int lkv_print(ExecResponse *r, const char *s) { return lkv_write(r, s, strlen(s)); }

const unsigned char *lkv_output(const ExecResponse *r, size_t *len)
{
	if (len)
		*len = r->lkv_out_len_;
	return r->lkv_out_ ? r->lkv_out_ : (const unsigned char *)"";
}

int lkv_vprintf(ExecResponse *r, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char small[256];
	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		return lkv_i_fail(r, "lkv_printf: bad format", NULL);
	}
	if ((size_t)n < sizeof small) {
		va_end(ap2);
		return lkv_write(r, small, (size_t)n);
	}
	if (lkv_i_grow(r, &r->lkv_out_, r->lkv_out_len_, &r->lkv_out_cap_, (size_t)n + 1)) {
		va_end(ap2);
		return -1;
	}
	vsnprintf((char *)r->lkv_out_ + r->lkv_out_len_, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	r->lkv_out_len_ += (size_t)n;
	return 0;
}

int lkv_printf(ExecResponse *r, const char *fmt, ...)
{
	va_list ap;
	int rc;
	va_start(ap, fmt);
	rc = lkv_vprintf(r, fmt, ap);
	va_end(ap);
	return rc;
}

/* lkv_i_hdr encodes a msgpack header: a one-byte form when n <= fixmax
 * (fixbase | n), else the 8-, 16- or 32-bit form starting at code8 (code8
 * 0 means there is no 8-bit form). It returns the header's length. */
static size_t lkv_i_hdr(unsigned char *h, uint64_t n, unsigned fixbase, uint64_t fixmax, unsigned code8,
			unsigned code16)
{
	if (n <= fixmax) {
		h[0] = (unsigned char)(fixbase | n);
		return 1;
	}
	if (code8 && n <= 0xff) {
		h[0] = (unsigned char)code8;
		h[1] = (unsigned char)n;
		return 2;
	}
	if (n <= 0xffff) {
		h[0] = (unsigned char)code16;
		h[1] = (unsigned char)(n >> 8);
		h[2] = (unsigned char)n;
		return 3;
	}
	h[0] = (unsigned char)(code16 + 1);
	h[1] = (unsigned char)(n >> 24);
	h[2] = (unsigned char)(n >> 16);
	h[3] = (unsigned char)(n >> 8);
	h[4] = (unsigned char)n;
	return 5;
}

#define LKV_I_STR_HDR(h, n) lkv_i_hdr((h), (n), 0xa0, 31, 0xd9, 0xda)

/* lkv_i_bin_hdr encodes a bin header (bin has no one-byte form). */
static size_t lkv_i_bin_hdr(unsigned char *h, uint64_t n)
{
	if (n <= 0xff) {
		h[0] = 0xc4;
		h[1] = (unsigned char)n;
		return 2;
	}
	return lkv_i_hdr(h, n, 0, 0, 0, 0xc5); /* n > 0xff: never the fix form */
}

/* lkv_i_append appends bytes to the encoded puts. */
static void lkv_i_append(ExecResponse *r, const void *p, size_t n)
{
	memcpy(r->lkv_puts_ + r->lkv_puts_len_, p, n);
	r->lkv_puts_len_ += n;
}

/* lkv_i_check_put applies the put rules of the protocol. */
static int lkv_i_check_put(ExecResponse *r, const char *key, size_t kn, unsigned perm)
{
	if (kn == 0)
		return lkv_i_fail(r, "put: empty key", NULL);
	if (kn > LKV_MAX_KEY)
		return lkv_i_fail(r, "put: key longer than 16384 bytes", key);
	if (perm & ~(unsigned)LKV_RWX)
		return lkv_i_fail(r, "put: perm has bits beyond rwx", key);
	if (!(perm & LKV_R))
		return lkv_i_fail(r, "put: perm lacks r", key);
	return 0;
}

int lkv_put(ExecResponse *r, const char *key, const void *value, size_t len, unsigned perm)
{
	unsigned char h[8];
	size_t kn = key ? strlen(key) : 0, hl;
	if (lkv_i_check_put(r, key ? key : "", kn, perm))
		return -1;
	if (len > 0xffffffffu)
		return lkv_i_fail(r, "put: value longer than 4 GiB", key);
	if (r->lkv_nputs_ * 2 + 2 > r->lkv_keys_cap_) {
		size_t ncap = r->lkv_keys_cap_ ? r->lkv_keys_cap_ * 2 : 32;
		size_t *nk = (size_t *)realloc(r->lkv_keys_, ncap * sizeof *nk);
		if (!nk)
			return lkv_i_fail(r, "out of memory", NULL);
		r->lkv_keys_ = nk;
		r->lkv_keys_cap_ = ncap;
	}
	/* {"key": str, "perm": uint, "value": bin}: at most 40 bytes of framing */
	if (lkv_i_grow(r, &r->lkv_puts_, r->lkv_puts_len_, &r->lkv_puts_cap_, kn + len + 40))
		return -1;
	lkv_i_append(r, "\x83\xa3key", 5);
	hl = LKV_I_STR_HDR(h, kn);
	lkv_i_append(r, h, hl);
	r->lkv_keys_[r->lkv_nputs_ * 2] = r->lkv_puts_len_;
	r->lkv_keys_[r->lkv_nputs_ * 2 + 1] = kn;
	lkv_i_append(r, key, kn);
	lkv_i_append(r, "\xa4perm", 5);
	h[0] = (unsigned char)perm; /* a positive fixint: perm <= 7 */
	lkv_i_append(r, h, 1);
	lkv_i_append(r, "\xa5value", 6);
	hl = lkv_i_bin_hdr(h, len);
	lkv_i_append(r, h, hl);
	if (len)
		lkv_i_append(r, value, len);
	r->lkv_nputs_++;
	return 0;
}

int lkv_put_str(ExecResponse *r, const char *key, const char *value, unsigned perm)
{
	return lkv_put(r, key, value, strlen(value), perm);
}

ExecResponse lkv_error(int code, const char *fmt, ...)
{
	ExecResponse r = lkv_response();
	va_list ap;
	r.return_code = code;
	va_start(ap, fmt);
	lkv_vprintf(&r, fmt, ap);
	va_end(ap);
	lkv_write(&r, "\n", 1);
	return r;
}

void lkv_response_free(ExecResponse *r)
{
	free(r->lkv_out_);
	free(r->lkv_puts_);
	free(r->lkv_keys_);
	memset(r, 0, sizeof *r);
}

/* ---- sending the response ----------------------------------------------- */

/* lkv_i_keys_base is the puts buffer the key comparator reads. */
static const unsigned char *lkv_i_keys_base;

static int lkv_i_putkey_cmp(const void *x, const void *y)
{
	const size_t *a = (const size_t *)x, *b = (const size_t *)y;
	return lkv_i_keycmp((const char *)lkv_i_keys_base + a[0], a[1], (const char *)lkv_i_keys_base + b[0], b[1]);
}

/* lkv_i_check_dups fails the response if one key is put twice. */
static void lkv_i_check_dups(ExecResponse *r)
{
	size_t i;
	if (r->lkv_nputs_ < 2)
		return;
	lkv_i_keys_base = r->lkv_puts_;
	qsort(r->lkv_keys_, r->lkv_nputs_, 2 * sizeof(size_t), lkv_i_putkey_cmp);
	for (i = 1; i < r->lkv_nputs_; i++)
		if (lkv_i_putkey_cmp(&r->lkv_keys_[2 * (i - 1)], &r->lkv_keys_[2 * i]) == 0) {
			lkv_i_fail(r, "put: key put twice", NULL);
			return;
		}
}

/* lkv_i_failed replaces a response that broke a rule with return_code 1
 * and the reason, as the Go runtime does. */
static void lkv_i_failed(ExecResponse *r)
{
	char msg[sizeof r->lkv_err_ + 64];
	snprintf(msg, sizeof msg, "lambda: invalid response: %s\n", r->lkv_err_);
	lkv_response_free(r);
	*r = lkv_response();
	r->return_code = 1;
	if (lkv_print(r, msg)) {
		r->lkv_out_len_ = 0; /* out of memory even for this: no output */
		r->lkv_err_[0] = '\0';
	}
}

/* lkv_i_send writes the response, fields in sorted order like the Go
 * encoder: puts, return_code, return_output. */
static int lkv_i_send(const ExecResponse *r, FILE *out)
{
	unsigned char h[64];
	size_t n = 0;
	int64_t rc = r->return_code;
	h[n++] = 0x83;
	n += LKV_I_STR_HDR(h + n, 4);
	memcpy(h + n, "puts", 4);
	n += 4;
	n += lkv_i_hdr(h + n, r->lkv_nputs_, 0x90, 15, 0, 0xdc);
	if (fwrite(h, 1, n, out) != n)
		return -1;
	if (r->lkv_puts_len_ && fwrite(r->lkv_puts_, 1, r->lkv_puts_len_, out) != r->lkv_puts_len_)
		return -1;
	n = 0;
	h[n++] = 0xab;
	memcpy(h + n, "return_code", 11);
	n += 11;
	if (rc >= 0 && rc <= 127) {
		h[n++] = (unsigned char)rc;
	} else { /* int32 */
		uint32_t u = (uint32_t)rc;
		h[n++] = 0xd2;
		h[n++] = (unsigned char)(u >> 24);
		h[n++] = (unsigned char)(u >> 16);
		h[n++] = (unsigned char)(u >> 8);
		h[n++] = (unsigned char)u;
	}
	h[n++] = 0xad;
	memcpy(h + n, "return_output", 13);
	n += 13;
	n += lkv_i_bin_hdr(h + n, r->lkv_out_len_);
	if (fwrite(h, 1, n, out) != n)
		return -1;
	if (r->lkv_out_len_ && fwrite(r->lkv_out_, 1, r->lkv_out_len_, out) != r->lkv_out_len_)
		return -1;
	return fflush(out) == 0 ? 0 : -1;
}

/* lkv_i_read_stdin reads all of stdin, up to LKV_MAX_INPUT bytes. */
static unsigned char *lkv_i_read_stdin(size_t *len, const char **err)
{
	unsigned char *buf = NULL, *nb;
	size_t n = 0, cap = 0, got;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			if (cap > LKV_MAX_INPUT + 1)
				cap = LKV_MAX_INPUT + 1;
			nb = (unsigned char *)realloc(buf, cap);
			if (!nb) {
				*err = "out of memory";
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, stdin);
		n += got;
		if (n > LKV_MAX_INPUT) {
			*err = "more than LKV_MAX_INPUT bytes";
			free(buf);
			return NULL;
		}
		if (got == 0)
			break;
	}
	if (ferror(stdin)) {
		*err = "read error";
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int lkv_serve(void)
{
	char msg[256];
	const char *err = NULL;
	size_t len = 0;
	unsigned char *in = lkv_i_read_stdin(&len, &err);
	lkv_i_dec d;
	ExecArgs a;
	ExecResponse r;
	int status = 0;
	memset(&d, 0, sizeof d);
	if (!in)
		snprintf(msg, sizeof msg, "lambda: read ExecArgs: %s", err);
	else if (len == 0)
		snprintf(msg, sizeof msg, "lambda: no ExecArgs on stdin: this is a runtime-mode lambda (lambda.h); run it without --raw");
	if (!in || len == 0 || lkv_i_decode(in, len, &d, msg, sizeof msg)) {
		fprintf(stdout, "%s\n", msg);
		fflush(stdout);
		fprintf(stderr, "%s\n", msg);
		return 2;
	}
	a.argc = d.argc;
	a.argv = d.argv;
	a.arg_len = d.arg_len;
	a.nvalues = d.nvalues;
	a.values = d.values;
	a.nfiles = d.nfiles;
	a.files = d.files;
	r = lkv_handler(&a);
	lkv_i_check_dups(&r);
	if (r.lkv_err_[0])
		lkv_i_failed(&r);
	if (lkv_i_send(&r, stdout)) {
		fprintf(stderr, "lambda: write ExecResponse: failed\n");
		status = 1;
	}
	lkv_response_free(&r);
	return status;
}

#ifdef __cplusplus
}
#endif

#ifndef LAMBDA_NO_MAIN
int main(void) { return lkv_serve(); }
#endif

#endif /* LAMBDA_IMPLEMENTATION */
