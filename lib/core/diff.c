/* diff.c - compare two manifests: what was added, removed or changed */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/diff.h"
#include "core/glob.h"
#include "util/error.h"
#include "util/banned.h"

#define MODE_BITS 07777u
#define SETID_BITS 06000u
#define EXEC_BITS 0111u

/* memcmp order, shorter first on a common prefix: LC_ALL=C sort. */
static int path_cmp(const char *p, size_t plen, const char *q, size_t qlen)
{
	size_t n = plen < qlen ? plen : qlen;
	int c = n ? memcmp(p, q, n) : 0;

	if (c)
		return c;
	return plen < qlen ? -1 : plen > qlen;
}

static int entry_cmp(const rv_manifest_entry *x, const rv_manifest_entry *y)
{
	return path_cmp(x->path, x->path_len, y->path, y->path_len);
}

/* Sorted and unique, whatever m->sorted says: the merge depends on it. */
static int check_sorted(const rv_manifest *m, const char *name)
{
	rv_buf esc = RV_BUF_INIT(4096);
	const rv_manifest_entry *e;
	size_t i;
	int rc = RV_OK;

	for (i = 1; i < m->count; i++) {
		if (entry_cmp(&m->entries[i - 1], &m->entries[i]) < 0)
			continue;
		e = &m->entries[i];
		if (rv_manifest_escape(&esc, e->path, e->path_len) < 0)
			rv_buf_reset(&esc);
		rc = rv_error_set(RV_EINVAL,
			"manifest %s is not sorted or has a duplicate at '%s'",
			name, esc.ptr ? esc.ptr : "");
		break;
	}
	rv_buf_dispose(&esc);
	return rc;
}

static const rv_manifest_entry *find(const rv_manifest *m, const char *path,
	size_t len)
{
	size_t lo = 0, hi = m->count, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = path_cmp(m->entries[mid].path, m->entries[mid].path_len,
			path, len);
		if (c == 0)
			return &m->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int is_mount(const rv_manifest_entry *e)
{
	return e->type == RV_FT_MOUNT;
}

/* A directory (or an entry of unknown type) whose listing we lack. */
static int is_unlisted(const rv_manifest_entry *e)
{
	return e->err && (e->type == RV_FT_DIR || e->type == RV_FT_UNKNOWN);
}

static int any_entry(const rv_manifest *m,
	int (*pred)(const rv_manifest_entry *))
{
	size_t i;

	for (i = 0; i < m->count; i++)
		if (pred(&m->entries[i]))
			return 1;
	return 0;
}

/*
 * Does m have an entry satisfying pred at a proper ancestor of path (or
 * at path itself, with self)? Ancestors of "/a/b" are "/" and "/a".
 */
static int covered(const rv_manifest *m, const char *path, size_t len,
	int self, int (*pred)(const rv_manifest_entry *))
{
	const rv_manifest_entry *e;
	size_t k;

	if (len > 1) {
		if ((e = find(m, "/", 1)) && pred(e))
			return 1;
		for (k = 1; k < len; k++) {
			if (path[k] != '/')
				continue;
			if ((e = find(m, path, k)) && pred(e))
				return 1;
		}
	}
	return self && (e = find(m, path, len)) && pred(e);
}

static int is_file(const rv_manifest_entry *e)
{
	return e && e->type == RV_FT_FILE;
}

static int is_dir(const rv_manifest_entry *e)
{
	return e && e->type == RV_FT_DIR;
}

static rv_severity max_sev(rv_severity x, rv_severity y)
{
	return x > y ? x : y;
}

/* Fill in the flags and the severity of a change whose what is set. */
static void classify(rv_diff_change *c)
{
	const rv_manifest_entry *e = c->b ? c->b : c->a;
	rv_severity sev = RV_SEV_INFO;
	uint32_t before;
	int risky;

	c->executable = is_file(e) && (e->mode & EXEC_BITS) != 0;
	c->elf = is_file(e) && e->elf;
	if (is_file(c->b)) {
		before = is_file(c->a) ? c->a->mode & SETID_BITS : 0;
		c->setid_gained = (c->b->mode & SETID_BITS & ~before) != 0;
	}
	/* a new or changed binary left in b */
	risky = c->b && (c->executable || c->elf);

	if (c->what & RV_DIFF_ADDED)
		sev = is_dir(c->b) ? RV_SEV_INFO :
			risky ? RV_SEV_HIGH : RV_SEV_MEDIUM;
	if (c->what & RV_DIFF_REMOVED)
		sev = is_dir(c->a) ? RV_SEV_INFO : RV_SEV_LOW;
	if (c->what & (RV_DIFF_TYPE | RV_DIFF_CONTENT))
		sev = max_sev(sev, risky ? RV_SEV_HIGH : RV_SEV_MEDIUM);
	if (c->what & (RV_DIFF_MODE | RV_DIFF_OWNER))
		sev = max_sev(sev, is_dir(c->a) && is_dir(c->b) ?
			RV_SEV_INFO : RV_SEV_LOW);
	if (c->what & RV_DIFF_UNREADABLE)
		sev = max_sev(sev, RV_SEV_MEDIUM);
	if (c->setid_gained)
		sev = RV_SEV_HIGH;
	c->severity = sev;
}

/* What differs between two entries at the same path (0: nothing). */
static unsigned compare(const rv_manifest_entry *a, const rv_manifest_entry *b)
{
	unsigned what = 0;

	if (a->err || b->err)
		what |= RV_DIFF_UNREADABLE;
	/* RV_FT_UNKNOWN: lstat failed (err says why), nothing else is known */
	if (a->type == RV_FT_UNKNOWN || b->type == RV_FT_UNKNOWN)
		return what ? what : a->type != b->type ? RV_DIFF_TYPE : 0;
	if (a->type != b->type)
		return what | RV_DIFF_TYPE;
	if ((a->mode & MODE_BITS) != (b->mode & MODE_BITS))
		what |= RV_DIFF_MODE;
	if (a->uid != b->uid || a->gid != b->gid)
		what |= RV_DIFF_OWNER;
	if (!a->err && !b->err &&
	    (a->has_digest != b->has_digest || a->size != b->size ||
	     (a->has_digest &&
	      memcmp(a->digest, b->digest, RV_SHA256_LEN) != 0)))
		what |= RV_DIFF_CONTENT;
	return what;
}

typedef struct diff_state {
	rv_diff *d;
	const rv_manifest *a, *b;
	const char *const *allow;
	size_t nallow;
	int a_mounts, b_mounts;     /* the side has mount entries */
	int a_unlisted, b_unlisted; /* the side has unreadable directories */
	size_t cap;
} diff_state;

/* Classify and list a change, unless the allowlist takes it. */
static int emit(diff_state *st, const rv_manifest_entry *a,
	const rv_manifest_entry *b, unsigned what)
{
	const rv_manifest_entry *e = b ? b : a;
	rv_diff *d = st->d;
	rv_diff_change *c;
	size_t cap;

	if (st->nallow &&
	    rv_glob_match_any(st->allow, st->nallow, e->path, e->path_len)) {
		d->allowed++;
		return RV_OK;
	}
	if (d->count == st->cap) {
		cap = st->cap ? st->cap * 2 : 64;
		c = realloc(d->changes, cap * sizeof(*c));
		if (!c)
			return rv_error_set(RV_ENOMEM, "out of memory");
		d->changes = c;
		st->cap = cap;
	}
	c = &d->changes[d->count++];
	memset(c, 0, sizeof(*c));
	c->a = a;
	c->b = b;
	c->what = what;
	classify(c);
	d->by_severity[c->severity]++;
	if (a && a->err)
		d->errors_a++;
	if (b && b->err)
		d->errors_b++;
	return RV_OK;
}

/* e is only in one manifest; other is the manifest that lacks it. */
static int one_sided(diff_state *st, const rv_manifest_entry *e, int in_a)
{
	const rv_manifest *other = in_a ? st->b : st->a;
	int other_mounts = in_a ? st->b_mounts : st->a_mounts;
	int other_unlisted = in_a ? st->b_unlisted : st->a_unlisted;
	unsigned what = in_a ? RV_DIFF_REMOVED : RV_DIFF_ADDED;

	if (is_mount(e))
		return RV_OK;
	if (other_mounts && covered(other, e->path, e->path_len, 0, is_mount)) {
		st->d->masked++;
		return RV_OK;
	}
	if (other_unlisted &&
	    covered(other, e->path, e->path_len, 0, is_unlisted)) {
		st->d->unknown++;
		return RV_OK;
	}
	if (e->err)
		what |= RV_DIFF_UNREADABLE;
	return in_a ? emit(st, e, NULL, what) : emit(st, NULL, e, what);
}

static int paired(diff_state *st, const rv_manifest_entry *a,
	const rv_manifest_entry *b)
{
	int ma, mb;
	unsigned what;

	if (is_mount(a) || is_mount(b)) {
		/* the non-mount side is hidden; two mounts are equal */
		if (is_mount(a) != is_mount(b))
			st->d->masked++;
		return RV_OK;
	}
	ma = st->b_mounts && covered(st->b, a->path, a->path_len, 0, is_mount);
	mb = st->a_mounts && covered(st->a, b->path, b->path_len, 0, is_mount);
	if (ma || mb) {
		st->d->masked += (size_t)ma + (size_t)mb;
		return RV_OK;
	}
	what = compare(a, b);
	return what ? emit(st, a, b, what) : RV_OK;
}

int rv_diff_compute(rv_diff **out, const rv_manifest *a, const rv_manifest *b,
	const char *const *allow, size_t nallow)
{
	diff_state st;
	size_t i = 0, j = 0;
	int rc, c;

	*out = NULL;
	if ((rc = check_sorted(a, "a")) < 0 || (rc = check_sorted(b, "b")) < 0)
		return rc;
	memset(&st, 0, sizeof(st));
	if (!(st.d = calloc(1, sizeof(*st.d))))
		return rv_error_set(RV_ENOMEM, "out of memory");
	st.a = a;
	st.b = b;
	st.allow = allow;
	st.nallow = nallow;
	st.a_mounts = any_entry(a, is_mount);
	st.b_mounts = any_entry(b, is_mount);
	st.a_unlisted = any_entry(a, is_unlisted);
	st.b_unlisted = any_entry(b, is_unlisted);

	while (i < a->count || j < b->count) {
		if (j == b->count)
			c = -1;
		else if (i == a->count)
			c = 1;
		else
			c = entry_cmp(&a->entries[i], &b->entries[j]);
		if (c < 0)
			rc = one_sided(&st, &a->entries[i++], 1);
		else if (c > 0)
			rc = one_sided(&st, &b->entries[j++], 0);
		else
			rc = paired(&st, &a->entries[i++], &b->entries[j++]);
		if (rc < 0)
			goto cleanup;
	}
	*out = st.d;
	st.d = NULL;
cleanup:
	rv_diff_free(st.d);
	return rc;
}

void rv_diff_free(rv_diff *d)
{
	if (!d)
		return;
	free(d->changes);
	free(d);
}

const rv_manifest_entry *rv_diff_entry(const rv_diff_change *c)
{
	return c->b ? c->b : c->a;
}

const char *rv_diff_kind_name(const rv_diff_change *c)
{
	if (c->what & RV_DIFF_ADDED)
		return "added";
	if (c->what & RV_DIFF_REMOVED)
		return "removed";
	if (c->what & RV_DIFF_UNREADABLE)
		return "unreadable";
	if (c->what & RV_DIFF_TYPE)
		return "type";
	if (c->what & RV_DIFF_CONTENT)
		return "modified";
	if (c->what & RV_DIFF_MODE)
		return "mode";
	if (c->what & RV_DIFF_OWNER)
		return "owner";
	return "none";
}

const char *rv_severity_name(rv_severity s)
{
	static const char *const names[RV_SEV_COUNT] = {
		"info", "low", "medium", "high"
	};

	return (unsigned)s < RV_SEV_COUNT ? names[s] : "?";
}

/* First 8 hex digits of a digest and "..". */
static int put_short_digest(rv_buf *out, const rv_manifest_entry *e)
{
	char hex[RV_SHA256_HEX];

	if (!e->has_digest)
		return rv_buf_puts(out, "none");
	rv_sha256_to_hex(hex, e->digest);
	return rv_buf_printf(out, "%.8s..", hex);
}

static int put_err(rv_buf *out, int err)
{
	const char *name = rv_errno_name(err);

	return name ? rv_buf_puts(out, name) : rv_buf_printf(out, "errno %d", err);
}

/* Details of an entry alone (added or removed). */
static int describe_one(rv_buf *out, const rv_manifest_entry *e)
{
	int rc;

	if ((rc = rv_buf_puts(out, rv_manifest_type_name(e))) < 0)
		return rc;
	if (e->type != RV_FT_UNKNOWN &&
	    (rc = rv_buf_printf(out, ", mode %04o, owner %u:%u",
		(unsigned)(e->mode & MODE_BITS), (unsigned)e->uid,
		(unsigned)e->gid)) < 0)
		return rc;
	if (e->type == RV_FT_FILE && !e->err &&
	    (rc = rv_buf_printf(out, ", size %llu",
		(unsigned long long)e->size)) < 0)
		return rc;
	if (e->has_digest && !e->err &&
	    ((rc = rv_buf_puts(out, ", sha256 ")) < 0 ||
	     (rc = put_short_digest(out, e)) < 0))
		return rc;
	if (e->err &&
	    ((rc = rv_buf_puts(out, ", unreadable: ")) < 0 ||
	     (rc = put_err(out, e->err)) < 0))
		return rc;
	return RV_OK;
}

/* ", " between parts, nothing before the first. */
static int sep(rv_buf *out, size_t start)
{
	return out->len > start ? rv_buf_puts(out, ", ") : RV_OK;
}

static int describe_pair(rv_buf *out, size_t start, const rv_diff_change *c)
{
	const rv_manifest_entry *a = c->a, *b = c->b;
	int rc = RV_OK;

	if (c->what & RV_DIFF_TYPE)
		rc = rv_buf_printf(out, "type %s->", rv_manifest_type_name(a));
	if (rc >= 0 && (c->what & RV_DIFF_TYPE))
		rc = rv_buf_puts(out, rv_manifest_type_name(b));
	if (rc >= 0 && (c->what & RV_DIFF_MODE) && (rc = sep(out, start)) >= 0)
		rc = rv_buf_printf(out, "mode %04o->%04o",
			(unsigned)(a->mode & MODE_BITS),
			(unsigned)(b->mode & MODE_BITS));
	if (rc >= 0 && (c->what & RV_DIFF_OWNER) && a->uid != b->uid &&
	    (rc = sep(out, start)) >= 0)
		rc = rv_buf_printf(out, "uid %u->%u", (unsigned)a->uid,
			(unsigned)b->uid);
	if (rc >= 0 && (c->what & RV_DIFF_OWNER) && a->gid != b->gid &&
	    (rc = sep(out, start)) >= 0)
		rc = rv_buf_printf(out, "gid %u->%u", (unsigned)a->gid,
			(unsigned)b->gid);
	if (rc >= 0 && (c->what & RV_DIFF_CONTENT) && a->size != b->size &&
	    (rc = sep(out, start)) >= 0)
		rc = rv_buf_printf(out, "size %llu->%llu",
			(unsigned long long)a->size, (unsigned long long)b->size);
	if (rc >= 0 && (c->what & RV_DIFF_CONTENT) &&
	    (rc = sep(out, start)) >= 0 &&
	    (rc = rv_buf_puts(out, "sha256 ")) >= 0 &&
	    (rc = put_short_digest(out, a)) >= 0 &&
	    (rc = rv_buf_puts(out, "->")) >= 0)
		rc = put_short_digest(out, b);
	if (rc >= 0 && a->err && (rc = sep(out, start)) >= 0 &&
	    (rc = rv_buf_puts(out, "unreadable in a: ")) >= 0)
		rc = put_err(out, a->err);
	if (rc >= 0 && b->err && (rc = sep(out, start)) >= 0 &&
	    (rc = rv_buf_puts(out, "unreadable in b: ")) >= 0)
		rc = put_err(out, b->err);
	return rc;
}

int rv_diff_describe(rv_buf *out, const rv_diff_change *c)
{
	size_t start = out->len;
	int rc;

	if (c->a && c->b)
		rc = describe_pair(out, start, c);
	else
		rc = describe_one(out, rv_diff_entry(c));
	if (rc >= 0 && c->executable && (rc = sep(out, start)) >= 0)
		rc = rv_buf_puts(out, "exec");
	if (rc >= 0 && c->elf && (rc = sep(out, start)) >= 0)
		rc = rv_buf_puts(out, "elf");
	if (rc >= 0 && c->setid_gained && (rc = sep(out, start)) >= 0)
		rc = rv_buf_puts(out, "setid");
	return rc;
}
