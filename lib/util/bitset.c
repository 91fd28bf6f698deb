/* bitset.c - a fixed-size bit set that finds the next set bit in a few word reads */
#include <stdlib.h>
#include <string.h>

#include "util/bitset.h"
#include "util/error.h"
#include "util/banned.h"

void rv_bitset_dispose(rv_bitset *b)
{
	int lv;

	for (lv = 0; lv < b->levels; lv++)
		free(b->w[lv]);
	memset(b, 0, sizeof(*b));
}

/* n bits, all clear; the levels down to one word. */
int rv_bitset_init(rv_bitset *b, size_t n)
{
	size_t w = n;
	int lv;

	memset(b, 0, sizeof(*b));
	b->n = n;
	for (lv = 0; lv < RV_BITSET_LEVELS; lv++) {
		w = (w + 63) / 64;
		if (!w)
			w = 1;
		b->nwords[lv] = w;
		if (!(b->w[lv] = calloc(w, sizeof(uint64_t))))
			return rv_error_set(RV_ENOMEM, "out of memory");
		b->levels = lv + 1;
		if (w == 1)
			break;
	}
	return RV_OK;
}

int rv_bitset_get(const rv_bitset *b, size_t i)
{
	return (int)((b->w[0][i >> 6] >> (i & 63)) & 1);
}

void rv_bitset_set(rv_bitset *b, size_t i)
{
	int lv;

	for (lv = 0; lv < b->levels; lv++) {
		uint64_t was = b->w[lv][i >> 6];

		b->w[lv][i >> 6] = was | (1ull << (i & 63));
		if (was)
			break;
		i >>= 6;
	}
}

void rv_bitset_clear(rv_bitset *b, size_t i)
{
	int lv;

	for (lv = 0; lv < b->levels; lv++) {
		b->w[lv][i >> 6] &= ~(1ull << (i & 63));
		if (b->w[lv][i >> 6])
			break;
		i >>= 6;
	}
}

/* The first set bit at or after i, or -1. */
long rv_bitset_next(const rv_bitset *b, size_t i)
{
	size_t pos = i, w;
	uint64_t m;
	int lv = 0;

	if (i >= b->n)
		return -1;
	for (;;) {
		w = pos >> 6;
		if (w >= b->nwords[lv])
			return -1;
		m = b->w[lv][w] & (~0ull << (pos & 63));
		if (m) {
			pos = (w << 6) + (size_t)__builtin_ctzll(m);
			break;
		}
		if (lv + 1 == b->levels)
			return -1;
		lv++;
		pos = w + 1;
	}
	while (lv > 0) {
		lv--;
		pos = (pos << 6) + (size_t)__builtin_ctzll(b->w[lv][pos]);
	}
	return (long)pos;
}
