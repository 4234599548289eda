/*
 * wordcount.c - the wordcount example lambda in C, using lambda.h.
 *
 * It counts the words of every dependency, inline or file, and returns one
 * "word count" line per word, sorted by word. With an argument it also
 * stores that result, immutable (perm r), under the key the argument names.
 * A word is a maximal run of ASCII letters, ASCII digits and bytes >= 0x80;
 * ASCII letters are lowercased. This is the same rule and output as the Go
 * version, cmd/lambdas/wordcount.
 *
 * Build (from the repository root) and run:
 *
 *     gcc -static -O2 -I jail/lambda/c -o wc cmd/lambdas/c/wordcount.c
 *     lkv put wc ./wc --perm rx
 *     lkv exec wc --dep book --arg book.counts
 */
#define LAMBDA_IMPLEMENTATION
#include "lambda.h"

#include <stdlib.h>
#include <string.h>

/* A word and its count; words live in a hash table with open addressing. */
typedef struct entry {
	char *word; /* NULL: empty slot */
	size_t len;
	long long count;
} entry;

typedef struct table {
	entry *slots;
	size_t cap, used; /* cap is a power of two */
} table;

static size_t hash(const char *s, size_t n)
{
	size_t h = 1469598103934665603u, i;
	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

/* grow doubles the table; it returns -1 when out of memory. */
static int grow(table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024, i, j;
	entry *slots = (entry *)calloc(cap, sizeof *slots);
	if (!slots)
		return -1;
	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i].word)
			continue;
		for (j = hash(t->slots[i].word, t->slots[i].len) & (cap - 1); slots[j].word; j = (j + 1) & (cap - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* add counts one occurrence of the word w (n bytes). */
static int add(table *t, const char *w, size_t n)
{
	size_t i;
	if ((t->used + 1) * 2 > t->cap && grow(t))
		return -1;
	for (i = hash(w, n) & (t->cap - 1); t->slots[i].word; i = (i + 1) & (t->cap - 1))
		if (t->slots[i].len == n && memcmp(t->slots[i].word, w, n) == 0) {
			t->slots[i].count++;
			return 0;
		}
	t->slots[i].word = (char *)malloc(n);
	if (!t->slots[i].word)
		return -1;
	memcpy(t->slots[i].word, w, n);
	t->slots[i].len = n;
	t->slots[i].count = 1;
	t->used++;
	return 0;
}

static int is_word_byte(unsigned char c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* count adds the words of text to t, lowercasing into buf (len bytes). */
static int count(table *t, const unsigned char *text, size_t len, char *buf)
{
	size_t i, n = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && is_word_byte(text[i])) {
			unsigned char c = text[i];
			buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
			continue;
		}
		if (n > 0 && add(t, buf, n))
			return -1;
		n = 0;
	}
	return 0;
}

static int by_word(const void *x, const void *y)
{
	const entry *a = (const entry *)x, *b = (const entry *)y;
	int c = memcmp(a->word, b->word, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* count_dep counts one dependency, inline or file. */
static int count_dep(table *t, const ExecArgs *a, const char *key, ExecResponse *err)
{
	size_t len;
	const unsigned char *text = lkv_dep(a, key, &len);
	char *buf;
	int rc;
	if (!text) {
		*err = lkv_error(1, "wordcount: cannot read dependency %s", key);
		return -1;
	}
	buf = (char *)malloc(len + 1);
	rc = buf ? count(t, text, len, buf) : -1;
	free(buf);
	if (rc)
		*err = lkv_error(1, "wordcount: out of memory");
	return rc;
}

ExecResponse lkv_handler(const ExecArgs *a)
{
	table t = {NULL, 0, 0};
	ExecResponse r = lkv_response(), err;
	size_t i, n = 0;
	if (a->nvalues + a->nfiles == 0)
		return lkv_error(1, "wordcount: no input: pass text with --dep KEY or --inline KEY");
	for (i = 0; i < a->nvalues; i++)
		if (count_dep(&t, a, a->values[i].key, &err))
			return err;
	for (i = 0; i < a->nfiles; i++)
		if (lkv_value(a, a->files[i].key, NULL) == NULL && count_dep(&t, a, a->files[i].key, &err))
			return err;
	for (i = 0; i < t.cap; i++) /* compact the table, then sort it */
		if (t.slots[i].word)
			t.slots[n++] = t.slots[i];
	if (n > 1)
		qsort(t.slots, n, sizeof *t.slots, by_word);
	for (i = 0; i < n; i++) {
		lkv_write(&r, t.slots[i].word, t.slots[i].len);
		lkv_printf(&r, " %lld\n", t.slots[i].count);
	}
	if (lkv_argc(a) > 0 && lkv_arg(a, 0)[0] != '\0') {
		const unsigned char *out = lkv_output(&r, &n);
		lkv_put(&r, lkv_arg(a, 0), out, n, LKV_R);
	}
	return r;
}
