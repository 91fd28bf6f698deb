/* test_bitset.c - util/bitset: get, set, clear and next across word and level boundaries */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/bitset.h"

/* next(b, i) for every i against a plain bool array of n entries */
static void same_as(const rv_bitset *b, const unsigned char *plain, size_t n)
{
	long want = -1;
	size_t i;

	for (i = n; i-- > 0;) {
		if (plain[i])
			want = (long)i;
		assert_int_equal(rv_bitset_get(b, i), plain[i]);
		if (rv_bitset_next(b, i) != want)
			fail_msg("n %zu: next(%zu) is %ld, want %ld", n, i,
				rv_bitset_next(b, i), want);
	}
	assert_int_equal(rv_bitset_next(b, n), -1);
	assert_int_equal(rv_bitset_next(b, n + 1000), -1);
}

static const size_t sizes[] = { 0, 1, 63, 64, 65, 4095, 4096, 4097, 262145 };

static void test_empty_and_single(void **state)
{
	size_t k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k], i;
		unsigned char *plain = calloc(n ? n : 1, 1);
		rv_bitset b;

		assert_non_null(plain);
		assert_int_equal(rv_bitset_init(&b, n), 0);
		same_as(&b, plain, n);
		/* each boundary bit alone: first, last, around 63/64/4095/4096 */
		for (i = 0; i < n; i++) {
			if (!(i < 2 || i + 2 >= n || i % 64 <= 1 || i % 64 == 63))
				continue;
			rv_bitset_set(&b, i);
			plain[i] = 1;
			if (i < 200 || i + 200 >= n || i % 4096 <= 1 || i % 4096 == 4095)
				same_as(&b, plain, n);
			else
				assert_int_equal(rv_bitset_next(&b, 0), (long)i);
			rv_bitset_clear(&b, i);
			plain[i] = 0;
			assert_int_equal(rv_bitset_next(&b, 0), -1);
		}
		rv_bitset_dispose(&b);
		rv_bitset_dispose(&b); /* twice is fine */
		free(plain);
	}
}

/* The next set bit far away: across whole words and a whole level. */
static void test_next_across_levels(void **state)
{
	size_t n = 64 * 64 * 64 + 5;
	rv_bitset b;

	assert_int_equal(rv_bitset_init(&b, n), 0);
	assert_true(b.levels >= 3);
	rv_bitset_set(&b, 0);
	rv_bitset_set(&b, 64 * 64 * 64 + 4);
	assert_int_equal(rv_bitset_next(&b, 0), 0);
	assert_int_equal(rv_bitset_next(&b, 1), 64 * 64 * 64 + 4);
	rv_bitset_set(&b, 4096);
	assert_int_equal(rv_bitset_next(&b, 1), 4096);
	assert_int_equal(rv_bitset_next(&b, 4097), 64 * 64 * 64 + 4);
	/* clearing one bit of a word keeps the summary for its neighbour */
	rv_bitset_set(&b, 4097);
	rv_bitset_clear(&b, 4096);
	assert_int_equal(rv_bitset_next(&b, 1), 4097);
	rv_bitset_clear(&b, 4097);
	assert_int_equal(rv_bitset_next(&b, 1), 64 * 64 * 64 + 4);
	rv_bitset_clear(&b, 64 * 64 * 64 + 4);
	assert_int_equal(rv_bitset_next(&b, 1), -1);
	rv_bitset_dispose(&b);
}

/* Random sets and clears (setting a set bit, clearing a clear one
 * included) compared with a plain array after each round. */
static void test_random_against_plain(void **state)
{
	static const size_t rn[] = { 1, 63, 64, 65, 4097, 70000 };
	unsigned seed = 12345;
	size_t k;

	for (k = 0; k < sizeof(rn) / sizeof(rn[0]); k++) {
		size_t n = rn[k], round, op;
		unsigned char *plain = calloc(n, 1);
		rv_bitset b;

		assert_non_null(plain);
		assert_int_equal(rv_bitset_init(&b, n), 0);
		for (round = 0; round < 8; round++) {
			/* dense early, sparse later */
			size_t ops = round < 4 ? n : n / 8 + 1;

			for (op = 0; op < ops; op++) {
				size_t i;

				seed = seed * 1103515245u + 12345u;
				i = (seed >> 8) % n;
				if ((seed >> 4) % (round < 4 ? 2 : 4) == 0) {
					rv_bitset_set(&b, i);
					plain[i] = 1;
				} else {
					rv_bitset_clear(&b, i);
					plain[i] = 0;
				}
			}
			same_as(&b, plain, n);
		}
		rv_bitset_dispose(&b);
		free(plain);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_single),
		cmocka_unit_test(test_next_across_levels),
		cmocka_unit_test(test_random_against_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
