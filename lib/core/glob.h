/* glob.h - path globs for excludes and allowlists */
#ifndef RV_GLOB_H
#define RV_GLOB_H

#include <stddef.h>

/*
 * Patterns match absolute manifest paths, byte for byte:
 *   *      any run of bytes except '/'
 *   **     any run of bytes including '/' (as a whole component: "/a/" then
 *          "**" matches everything below /a; "**" then "/x" matches x at
 *          any depth)
 *   ?      one byte except '/'
 *   [abc] [a-z] [!x]  one byte from (or not from) the set
 *   \c     the byte c itself
 * A pattern that starts with '/' is anchored at the root; one that does not
 * matches at any depth ("*.log" is the same as "**", then "/", then
 * "*.log"). A pattern that matches a directory also matches everything
 * below it. A '[...]' set never matches
 * '/'. "**" that is not a whole component is a plain '*'. A trailing '/' on
 * a pattern is ignored ("/a/" is "/a").
 *
 * Matching simulates the pattern as a small automaton over the path bytes:
 * time O(pattern length x path length), memory fixed (no recursion, no
 * allocation), so no pattern or path can blow up the stack or the clock.
 */

/* Longest pattern accepted, in bytes. */
#define RV_GLOB_MAX_LEN 1024

/* Return 1 if path (path_len bytes, may hold any byte) matches pattern,
 * 0 if not. A pattern that rv_glob_check rejects matches nothing when it
 * is too long; an unclosed '[' or a trailing '\' is then taken literally. */
int rv_glob_match(const char *pattern, const char *path, size_t path_len);

/* Return 1 if path matches any of the n patterns. */
int rv_glob_match_any(const char *const *patterns, size_t n,
	const char *path, size_t path_len);

/* Check a pattern is well formed (not empty, at most RV_GLOB_MAX_LEN
 * bytes, brackets closed, no trailing '\'); RV_EINVAL naming it if not. */
int rv_glob_check(const char *pattern);

#endif
