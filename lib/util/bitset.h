/* bitset.h - a fixed-size bit set that finds the next set bit in a few word reads */
#ifndef RV_BITSET_H
#define RV_BITSET_H

#include <stddef.h>
#include <stdint.h>

/*
 * n bits in 64-bit words, with summary levels above them: a bit of level
 * k+1 says its word of level k is not zero, so rv_bitset_next from any
 * point reads a few words whatever the gap to the next set bit. Up to
 * RV_BITSET_LEVELS levels (64^8 = 2^48 bits). Caller-owned: rv_bitset_init,
 * then rv_bitset_dispose. An index must be below n (not checked).
 */
#define RV_BITSET_LEVELS 8

typedef struct rv_bitset {
	uint64_t *w[RV_BITSET_LEVELS];
	size_t nwords[RV_BITSET_LEVELS];
	int levels;
	size_t n;
} rv_bitset;

/* n bits, all clear (n may be 0); RV_ENOMEM (b is then safe to dispose). */
int rv_bitset_init(rv_bitset *b, size_t n);

/* Free the words; b may be disposed twice. */
void rv_bitset_dispose(rv_bitset *b);

int rv_bitset_get(const rv_bitset *b, size_t i);
void rv_bitset_set(rv_bitset *b, size_t i);
void rv_bitset_clear(rv_bitset *b, size_t i);

/* The first set bit at or after i, or -1 (also for i >= n). */
long rv_bitset_next(const rv_bitset *b, size_t i);

#endif
