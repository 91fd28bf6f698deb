/* glob.c - path globs for excludes and allowlists */
#include <stdint.h>
#include <string.h>

#include "core/glob.h"
#include "util/error.h"
#include "util/banned.h"

/*
 * A pattern is compiled into at most RV_GLOB_MAX_LEN + 2 tokens and run as
 * a non-deterministic automaton: the set of tokens we could be at is a
 * bitset, advanced once per path byte. Epsilon moves only go forward (from
 * a star to the token after it), so one ascending pass closes a set.
 */

enum tok_kind {
	T_LIT,   /* the byte c */
	T_ANY,   /* '?': one byte but '/' */
	T_SET,   /* '[...]': one byte but '/' in (or, with neg, not in) the set */
	T_STAR,  /* '*': a run of bytes without '/' */
	T_GSTAR, /* trailing "**": any run of bytes */
	T_GSDIR  /* "**" + "/": empty, or any run ending in '/' */
};

struct tok {
	unsigned char kind;
	unsigned char c;     /* T_LIT: the byte; T_SET: 1 if negated */
	uint16_t a, b;       /* T_SET: the set's body is pattern[a, b) */
};

#define MAX_TOKS (RV_GLOB_MAX_LEN + 2)
#define WORDS ((MAX_TOKS + 1 + 63) / 64)

/* Offset of the ']' closing a set whose '[' is at i, or 0 if none. *body
 * gets the offset of the first byte of the set after '!' or '^'. */
static size_t set_end(const char *p, size_t len, size_t i, size_t *body, int *neg)
{
	size_t j = i + 1;

	*neg = 0;
	if (j < len && (p[j] == '!' || p[j] == '^')) {
		*neg = 1;
		j++;
	}
	*body = j;
	if (j < len && p[j] == ']')
		j++;
	while (j < len && p[j] != ']') {
		if (p[j] == '\\' && j + 1 < len)
			j += 2;
		else
			j++;
	}
	return j < len ? j : 0;
}

/* Compile pattern into toks; returns the token count, or 0 when the
 * pattern is empty or too long (it then matches nothing). */
static size_t compile(struct tok *toks, const char *p)
{
	size_t len = strlen(p), i = 0, n = 0;

	if (len == 0 || len > RV_GLOB_MAX_LEN)
		return 0;
	/* A trailing '/' means the same as none (unless it is escaped). */
	while (len > 1 && p[len - 1] == '/' && p[len - 2] != '\\')
		len--;
	if (p[0] != '/')
		toks[n++] = (struct tok){ T_GSDIR, 0, 0, 0 };
	while (i < len) {
		unsigned char ch = (unsigned char)p[i];
		size_t k, body, end;
		int neg;

		switch (ch) {
		case '*':
			for (k = i; k < len && p[k] == '*'; k++)
				;
			k -= i;
			if (k >= 2 && (i == 0 || p[i - 1] == '/') &&
			    (i + k == len || p[i + k] == '/')) {
				if (i + k == len) {
					toks[n++] = (struct tok){ T_GSTAR, 0, 0, 0 };
					i += k;
				} else {
					toks[n++] = (struct tok){ T_GSDIR, 0, 0, 0 };
					i += k + 1;
				}
			} else {
				toks[n++] = (struct tok){ T_STAR, 0, 0, 0 };
				i += k;
			}
			break;
		case '?':
			toks[n++] = (struct tok){ T_ANY, 0, 0, 0 };
			i++;
			break;
		case '[':
			end = set_end(p, len, i, &body, &neg);
			if (end) {
				toks[n++] = (struct tok){ T_SET, (unsigned char)neg,
					(uint16_t)body, (uint16_t)end };
				i = end + 1;
			} else {
				toks[n++] = (struct tok){ T_LIT, '[', 0, 0 };
				i++;
			}
			break;
		case '\\':
			if (i + 1 < len) {
				toks[n++] = (struct tok){ T_LIT, (unsigned char)p[i + 1], 0, 0 };
				i += 2;
			} else {
				toks[n++] = (struct tok){ T_LIT, '\\', 0, 0 };
				i++;
			}
			break;
		default:
			toks[n++] = (struct tok){ T_LIT, ch, 0, 0 };
			i++;
			break;
		}
	}
	return n;
}

/* The next byte of a set body at *j, with '\' escapes. */
static unsigned char set_byte(const char *p, size_t b, size_t *j)
{
	unsigned char c;

	if (p[*j] == '\\' && *j + 1 < b) {
		c = (unsigned char)p[*j + 1];
		*j += 2;
	} else {
		c = (unsigned char)p[*j];
		*j += 1;
	}
	return c;
}

static int in_set(const char *p, const struct tok *t, unsigned char c)
{
	size_t j = t->a, b = t->b;
	int hit = 0;

	while (j < b && !hit) {
		unsigned char lo = set_byte(p, b, &j), hi = lo;

		if (j + 1 < b && p[j] == '-') {
			j++;
			hi = set_byte(p, b, &j);
		}
		if (c >= lo && c <= hi)
			hit = 1;
	}
	return t->c ? !hit : hit;
}

#define BIT_SET(s, i) ((s)[(i) >> 6] |= (uint64_t)1 << ((i) & 63))
#define BIT_GET(s, i) (((s)[(i) >> 6] >> ((i) & 63)) & 1)

static void closure(uint64_t *at, const struct tok *toks, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (BIT_GET(at, i) && (toks[i].kind == T_STAR ||
		    toks[i].kind == T_GSTAR || toks[i].kind == T_GSDIR))
			BIT_SET(at, i + 1);
}

int rv_glob_match(const char *pattern, const char *path, size_t path_len)
{
	struct tok toks[MAX_TOKS];
	uint64_t at[WORDS], gs[WORDS], nat[WORDS], ngs[WORDS];
	size_t n, k, w, words;

	if (!pattern || !path || (n = compile(toks, pattern)) == 0)
		return 0;
	words = (n + 1 + 63) / 64;
	memset(at, 0, sizeof(at));
	memset(gs, 0, sizeof(gs));
	BIT_SET(at, 0);
	closure(at, toks, n);
	for (k = 0; k < path_len; k++) {
		unsigned char c = (unsigned char)path[k];
		int live = 0;

		/* The path so far names a directory the pattern matches
		 * (k == 1: the root, "/"). */
		if (k > 0 && (c == '/' || k == 1) && BIT_GET(at, n))
			return 1;
		memset(nat, 0, words * sizeof(uint64_t));
		memset(ngs, 0, words * sizeof(uint64_t));
		for (w = 0; w < words; w++) {
			uint64_t bits = at[w] | gs[w];

			while (bits) {
				size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
				const struct tok *t = &toks[i];
				int in_at = (int)BIT_GET(at, i);

				bits &= bits - 1;
				if (i == n)
					continue;
				switch (t->kind) {
				case T_LIT:
					if (in_at && c == t->c)
						BIT_SET(nat, i + 1);
					break;
				case T_ANY:
					if (in_at && c != '/')
						BIT_SET(nat, i + 1);
					break;
				case T_SET:
					if (in_at && c != '/' && in_set(pattern, t, c))
						BIT_SET(nat, i + 1);
					break;
				case T_STAR:
					if (in_at && c != '/')
						BIT_SET(nat, i);
					break;
				case T_GSTAR:
					if (in_at)
						BIT_SET(nat, i);
					break;
				case T_GSDIR:
					if (c == '/')
						BIT_SET(nat, i);
					else
						BIT_SET(ngs, i);
					break;
				}
			}
		}
		closure(nat, toks, n);
		for (w = 0; w < words; w++) {
			at[w] = nat[w];
			gs[w] = ngs[w];
			live |= (nat[w] | ngs[w]) != 0;
		}
		if (!live)
			return 0;
	}
	return (int)BIT_GET(at, n);
}

int rv_glob_match_any(const char *const *patterns, size_t n,
	const char *path, size_t path_len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rv_glob_match(patterns[i], path, path_len))
			return 1;
	return 0;
}

int rv_glob_check(const char *pattern)
{
	size_t len, i, body, end;
	int neg;

	if (!pattern)
		return rv_error_set(RV_EINVAL, "glob is missing");
	len = strlen(pattern);
	if (len == 0)
		return rv_error_set(RV_EINVAL, "glob '' is empty");
	if (len > RV_GLOB_MAX_LEN)
		return rv_error_set(RV_EINVAL, "glob '%.40s...' is longer than %d bytes",
			pattern, RV_GLOB_MAX_LEN);
	for (i = 0; i < len; i++) {
		if (pattern[i] == '\\') {
			if (i + 1 == len)
				return rv_error_set(RV_EINVAL,
					"glob '%s' ends in a lone '\\'", pattern);
			i++;
		} else if (pattern[i] == '[') {
			end = set_end(pattern, len, i, &body, &neg);
			if (!end)
				return rv_error_set(RV_EINVAL,
					"glob '%s' has an unclosed '['", pattern);
			i = end;
		}
	}
	return RV_OK;
}
