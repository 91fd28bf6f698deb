/* test_diff.c - manifest diff: kinds, severity, masking, allowlist, errors */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/diff.h"
#include "core/manifest.h"
#include "util/buf.h"
#include "util/error.h"

/* --- building manifests ------------------------------------------------ */

/* An entry: content byte c (0: no digest) fills the digest; size 10. */
static rv_manifest_entry E(const char *path, rv_ftype type, unsigned mode,
	int c)
{
	rv_manifest_entry e;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.path_len = strlen(path);
	e.type = type;
	e.mode = mode;
	if (c) {
		e.has_digest = 1;
		e.size = 10;
		memset(e.digest, c, sizeof(e.digest));
	}
	return e;
}

static rv_manifest *new_m(void)
{
	rv_manifest *m;

	assert_int_equal(rv_manifest_new(&m), 0);
	return m;
}

static void put(rv_manifest *m, rv_manifest_entry e)
{
	assert_int_equal(rv_manifest_add(m, &e), 0);
}

static void done(rv_manifest *m)
{
	assert_int_equal(rv_manifest_sort(m), 0);
}

/* A small image: the reference both sides start from. */
static void base(rv_manifest *m)
{
	put(m, E("/app", RV_FT_DIR, 0755, 0));
	put(m, E("/app/bin", RV_FT_DIR, 0755, 0));
	put(m, E("/app/bin/server", RV_FT_FILE, 0755, 1));
	put(m, E("/app/config", RV_FT_DIR, 0755, 0));
	put(m, E("/app/config/app.yaml", RV_FT_FILE, 0644, 2));
	put(m, E("/app/data.txt", RV_FT_FILE, 0644, 3));
	put(m, E("/app/link", RV_FT_SYMLINK, 0777, 4));
}

static rv_diff *diff(const rv_manifest *a, const rv_manifest *b,
	const char *const *allow, size_t nallow)
{
	rv_diff *d = NULL;

	assert_int_equal(rv_diff_compute(&d, a, b, allow, nallow), 0);
	assert_non_null(d);
	return d;
}

static const char *path_of(const rv_diff_change *c)
{
	return rv_diff_entry(c)->path;
}

/* The one change of d, checked for path, bits and severity. */
static const rv_diff_change *only(const rv_diff *d, const char *path,
	unsigned what, rv_severity sev)
{
	assert_int_equal(d->count, 1);
	assert_string_equal(path_of(&d->changes[0]), path);
	assert_int_equal(d->changes[0].what, what);
	assert_int_equal(d->changes[0].severity, sev);
	return &d->changes[0];
}

static char *describe(const rv_diff_change *c)
{
	rv_buf b = RV_BUF_INIT(4096);
	char *s;

	assert_int_equal(rv_diff_describe(&b, c), 0);
	s = rv_buf_detach(&b, NULL);
	assert_non_null(s);
	return s;
}

/* --- tests -------------------------------------------------------------- */

static void test_identical_and_empty(void **state)
{
	rv_manifest *a = new_m(), *b = new_m(), *e1 = new_m(), *e2 = new_m();
	rv_diff *d;
	size_t s;

	(void)state;
	base(a);
	done(a);
	base(b);
	done(b);
	d = diff(a, b, NULL, 0);
	assert_int_equal(d->count, 0);
	assert_int_equal(d->allowed + d->masked + d->unknown, 0);
	assert_int_equal(d->errors_a + d->errors_b, 0);
	for (s = 0; s < RV_SEV_COUNT; s++)
		assert_int_equal(d->by_severity[s], 0);
	rv_diff_free(d);

	d = diff(e1, e2, NULL, 0);
	assert_int_equal(d->count, 0);
	rv_diff_free(d);

	/* empty reference: everything is added */
	d = diff(e1, b, NULL, 0);
	assert_int_equal(d->count, b->count);
	for (s = 0; s < d->count; s++) {
		assert_int_equal(d->changes[s].what, RV_DIFF_ADDED);
		assert_null(d->changes[s].a);
		assert_ptr_equal(d->changes[s].b, &b->entries[s]);
	}
	rv_diff_free(d);

	/* empty container: everything is removed */
	d = diff(a, e2, NULL, 0);
	assert_int_equal(d->count, a->count);
	for (s = 0; s < d->count; s++) {
		assert_int_equal(d->changes[s].what, RV_DIFF_REMOVED);
		assert_ptr_equal(d->changes[s].a, &a->entries[s]);
		assert_null(d->changes[s].b);
	}
	rv_diff_free(d);
	rv_diff_free(NULL);
	rv_manifest_free(a);
	rv_manifest_free(b);
	rv_manifest_free(e1);
	rv_manifest_free(e2);
}

static void test_added(void **state)
{
	struct {
		rv_manifest_entry e;
		int elf;
		unsigned what;
		rv_severity sev;
		int exec, setid;
	} cases[] = {
		{ E("/app/new.txt", RV_FT_FILE, 0644, 9), 0, RV_DIFF_ADDED, RV_SEV_MEDIUM, 0, 0 },
		{ E("/app/new.sh", RV_FT_FILE, 0700, 9), 0, RV_DIFF_ADDED, RV_SEV_HIGH, 1, 0 },
		{ E("/app/new.sh", RV_FT_FILE, 0644 | 0001, 9), 0, RV_DIFF_ADDED, RV_SEV_HIGH, 1, 0 },
		{ E("/app/lib.so", RV_FT_FILE, 0644, 9), 1, RV_DIFF_ADDED, RV_SEV_HIGH, 0, 0 },
		{ E("/app/su", RV_FT_FILE, 04644, 9), 0, RV_DIFF_ADDED, RV_SEV_HIGH, 0, 1 },
		{ E("/app/sg", RV_FT_FILE, 02644, 9), 0, RV_DIFF_ADDED, RV_SEV_HIGH, 0, 1 },
		{ E("/app/newdir", RV_FT_DIR, 0755, 0), 0, RV_DIFF_ADDED, RV_SEV_INFO, 0, 0 },
		/* setgid on a directory is not a privilege: no setid flag */
		{ E("/app/gdir", RV_FT_DIR, 02775, 0), 0, RV_DIFF_ADDED, RV_SEV_INFO, 0, 0 },
		{ E("/app/ln", RV_FT_SYMLINK, 0777, 9), 0, RV_DIFF_ADDED, RV_SEV_MEDIUM, 0, 0 },
		{ E("/app/fifo", RV_FT_FIFO, 0644, 0), 0, RV_DIFF_ADDED, RV_SEV_MEDIUM, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rv_manifest *a = new_m(), *b = new_m();
		const rv_diff_change *c;
		rv_diff *d;

		base(a);
		done(a);
		base(b);
		cases[i].e.elf = cases[i].elf;
		put(b, cases[i].e);
		done(b);
		d = diff(a, b, NULL, 0);
		c = only(d, cases[i].e.path, cases[i].what, cases[i].sev);
		assert_null(c->a);
		assert_non_null(c->b);
		assert_int_equal(c->executable, cases[i].exec);
		assert_int_equal(c->elf, cases[i].elf);
		assert_int_equal(c->setid_gained, cases[i].setid);
		assert_string_equal(rv_diff_kind_name(c), "added");
		assert_int_equal(d->by_severity[cases[i].sev], 1);
		if (i == 0) {
			char *s = describe(c);

			assert_string_equal(s, "file, mode 0644, owner 0:0, "
				"size 10, sha256 09090909..");
			free(s);
		}
		rv_diff_free(d);

		/* the same diff the other way round is a removal */
		d = diff(b, a, NULL, 0);
		c = only(d, cases[i].e.path, RV_DIFF_REMOVED,
			cases[i].e.type == RV_FT_DIR ? RV_SEV_INFO : RV_SEV_LOW);
		assert_non_null(c->a);
		assert_null(c->b);
		/* flags describe what was removed; a removal gains nothing */
		assert_int_equal(c->executable, cases[i].exec);
		assert_int_equal(c->elf, cases[i].elf);
		assert_int_equal(c->setid_gained, 0);
		assert_string_equal(rv_diff_kind_name(c), "removed");
		rv_diff_free(d);
		rv_manifest_free(a);
		rv_manifest_free(b);
	}
}

/* Replace the entry at path in a fresh copy of base with e. */
static rv_manifest *base_with(rv_manifest_entry e)
{
	rv_manifest *m = new_m(), *tmp = new_m();
	size_t i;

	base(tmp);
	for (i = 0; i < tmp->count; i++)
		if (strcmp(tmp->entries[i].path, e.path) != 0)
			put(m, tmp->entries[i]);
	put(m, e);
	done(m);
	rv_manifest_free(tmp);
	return m;
}

static void check_modified(rv_manifest_entry e, unsigned what, rv_severity sev,
	int exec, int elf, int setid, const char *kind, const char *details)
{
	rv_manifest *a = new_m(), *b;
	const rv_diff_change *c;
	rv_diff *d;
	char *s;

	base(a);
	done(a);
	b = base_with(e);
	d = diff(a, b, NULL, 0);
	c = only(d, e.path, what, sev);
	assert_non_null(c->a);
	assert_non_null(c->b);
	assert_int_equal(c->executable, exec);
	assert_int_equal(c->elf, elf);
	assert_int_equal(c->setid_gained, setid);
	assert_string_equal(rv_diff_kind_name(c), kind);
	s = describe(c);
	assert_string_equal(s, details);
	free(s);
	rv_diff_free(d);

	/* symmetric: b->a finds the same path with the same bits */
	d = diff(b, a, NULL, 0);
	assert_int_equal(d->count, 1);
	assert_string_equal(path_of(&d->changes[0]), e.path);
	assert_int_equal(d->changes[0].what, what);
	rv_diff_free(d);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static void test_content(void **state)
{
	rv_manifest_entry e;

	(void)state;
	e = E("/app/data.txt", RV_FT_FILE, 0644, 7);
	check_modified(e, RV_DIFF_CONTENT, RV_SEV_MEDIUM, 0, 0, 0, "modified",
		"sha256 03030303..->07070707..");
	/* same digest, different size still counts */
	e = E("/app/data.txt", RV_FT_FILE, 0644, 3);
	e.size = 11;
	check_modified(e, RV_DIFF_CONTENT, RV_SEV_MEDIUM, 0, 0, 0, "modified",
		"size 10->11, sha256 03030303..->03030303..");
	/* a changed executable is high */
	e = E("/app/bin/server", RV_FT_FILE, 0755, 8);
	check_modified(e, RV_DIFF_CONTENT, RV_SEV_HIGH, 1, 0, 0, "modified",
		"sha256 01010101..->08080808.., exec");
	/* a file that became an ELF binary, no x bit, is high */
	e = E("/app/data.txt", RV_FT_FILE, 0644, 7);
	e.elf = 1;
	check_modified(e, RV_DIFF_CONTENT, RV_SEV_HIGH, 0, 1, 0, "modified",
		"sha256 03030303..->07070707.., elf");
	/* a symlink pointing elsewhere */
	e = E("/app/link", RV_FT_SYMLINK, 0777, 5);
	check_modified(e, RV_DIFF_CONTENT, RV_SEV_MEDIUM, 0, 0, 0, "modified",
		"sha256 04040404..->05050505..");
}

static void test_mode_owner(void **state)
{
	rv_manifest_entry e;

	(void)state;
	e = E("/app/data.txt", RV_FT_FILE, 0600, 3);
	check_modified(e, RV_DIFF_MODE, RV_SEV_LOW, 0, 0, 0, "mode",
		"mode 0644->0600");
	/* chmod +x alone is a mode change: the content is the image's */
	e = E("/app/data.txt", RV_FT_FILE, 0755, 3);
	check_modified(e, RV_DIFF_MODE, RV_SEV_LOW, 1, 0, 0, "mode",
		"mode 0644->0755, exec");
	e = E("/app/data.txt", RV_FT_FILE, 0644, 3);
	e.uid = 1000;
	check_modified(e, RV_DIFF_OWNER, RV_SEV_LOW, 0, 0, 0, "owner",
		"uid 0->1000");
	e.gid = 50;
	check_modified(e, RV_DIFF_OWNER, RV_SEV_LOW, 0, 0, 0, "owner",
		"uid 0->1000, gid 0->50");
	e = E("/app/data.txt", RV_FT_FILE, 0666, 7);
	e.gid = 50;
	check_modified(e, RV_DIFF_MODE | RV_DIFF_OWNER | RV_DIFF_CONTENT,
		RV_SEV_MEDIUM, 0, 0, 0, "modified",
		"mode 0644->0666, gid 0->50, sha256 03030303..->07070707..");
	/* directories: info */
	e = E("/app/config", RV_FT_DIR, 0777, 0);
	check_modified(e, RV_DIFF_MODE, RV_SEV_INFO, 0, 0, 0, "mode",
		"mode 0755->0777");
	e = E("/app/config", RV_FT_DIR, 0755, 0);
	e.uid = 1;
	check_modified(e, RV_DIFF_OWNER, RV_SEV_INFO, 0, 0, 0, "owner",
		"uid 0->1");
}

static void test_setid(void **state)
{
	rv_manifest *a, *b;
	rv_manifest_entry e;
	rv_diff *d;

	(void)state;
	e = E("/app/bin/server", RV_FT_FILE, 04755, 1);
	check_modified(e, RV_DIFF_MODE, RV_SEV_HIGH, 1, 0, 1, "mode",
		"mode 0755->4755, exec, setid");
	e = E("/app/bin/server", RV_FT_FILE, 02755, 1);
	check_modified(e, RV_DIFF_MODE, RV_SEV_HIGH, 1, 0, 1, "mode",
		"mode 0755->2755, exec, setid");

	/* already setuid in a: nothing gained; losing it is low */
	a = base_with(E("/app/bin/server", RV_FT_FILE, 04755, 1));
	b = base_with(E("/app/bin/server", RV_FT_FILE, 06755, 1));
	d = diff(a, b, NULL, 0);
	assert_int_equal(only(d, "/app/bin/server", RV_DIFF_MODE,
		RV_SEV_HIGH)->setid_gained, 1); /* setgid is new */
	rv_diff_free(d);
	rv_manifest_free(b);
	b = base_with(E("/app/bin/server", RV_FT_FILE, 04755, 1));
	d = diff(b, a, NULL, 0);
	assert_int_equal(d->count, 0);
	rv_diff_free(d);
	rv_manifest_free(b);
	b = base_with(E("/app/bin/server", RV_FT_FILE, 0755, 1));
	d = diff(a, b, NULL, 0);
	assert_int_equal(only(d, "/app/bin/server", RV_DIFF_MODE,
		RV_SEV_LOW)->setid_gained, 0);
	rv_diff_free(d);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static void test_type(void **state)
{
	rv_manifest_entry e;

	(void)state;
	e = E("/app/data.txt", RV_FT_SYMLINK, 0777, 3);
	check_modified(e, RV_DIFF_TYPE, RV_SEV_MEDIUM, 0, 0, 0, "type",
		"type file->symlink");
	e = E("/app/link", RV_FT_FILE, 0755, 4);
	check_modified(e, RV_DIFF_TYPE, RV_SEV_HIGH, 1, 0, 0, "type",
		"type symlink->file, exec");
	e = E("/app/link", RV_FT_FILE, 0644, 4);
	e.elf = 1;
	check_modified(e, RV_DIFF_TYPE, RV_SEV_HIGH, 0, 1, 0, "type",
		"type symlink->elf, elf");
	e = E("/app/config", RV_FT_FILE, 04644, 4);
	check_modified(e, RV_DIFF_TYPE, RV_SEV_HIGH, 0, 0, 1, "type",
		"type dir->file, setid");
}

static void test_mount_masks(void **state)
{
	rv_manifest *a = new_m(), *b = new_m();
	rv_diff *d;

	(void)state;
	base(a);
	put(a, E("/app/config-x", RV_FT_FILE, 0644, 5));
	put(a, E("/app/config/sub", RV_FT_DIR, 0755, 0));
	put(a, E("/app/config/sub/deep", RV_FT_FILE, 0644, 5));
	done(a);
	/* b: a ConfigMap over /app/config, and /app/config-x changed */
	put(b, E("/app", RV_FT_DIR, 0755, 0));
	put(b, E("/app/bin", RV_FT_DIR, 0755, 0));
	put(b, E("/app/bin/server", RV_FT_FILE, 0755, 1));
	put(b, E("/app/config", RV_FT_MOUNT, 01777, 0));
	put(b, E("/app/config-x", RV_FT_FILE, 0644, 6));
	put(b, E("/app/data.txt", RV_FT_FILE, 0644, 3));
	put(b, E("/app/link", RV_FT_SYMLINK, 0777, 4));
	done(b);
	d = diff(a, b, NULL, 0);
	/* "/app/config-x" shares a prefix, not a component: still compared */
	only(d, "/app/config-x", RV_DIFF_CONTENT, RV_SEV_MEDIUM);
	assert_int_equal(d->masked, 4); /* config, app.yaml, sub, sub/deep */
	rv_diff_free(d);

	/* the other way round: a's mount hides b's tree just as well */
	d = diff(b, a, NULL, 0);
	only(d, "/app/config-x", RV_DIFF_CONTENT, RV_SEV_MEDIUM);
	assert_int_equal(d->masked, 4);
	rv_diff_free(d);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static void test_mount_edge_cases(void **state)
{
	rv_manifest *a, *b;
	rv_diff *d;

	(void)state;
	/* a single-file mount (subPath) over an image file */
	a = new_m();
	base(a);
	done(a);
	b = base_with(E("/app/data.txt", RV_FT_MOUNT, 0644, 0));
	d = diff(a, b, NULL, 0);
	assert_int_equal(d->count, 0);
	assert_int_equal(d->masked, 1);
	rv_diff_free(d);
	/* mounts on both sides: equal, nothing hidden */
	d = diff(b, b, NULL, 0);
	assert_int_equal(d->count, 0);
	assert_int_equal(d->masked, 0);
	rv_diff_free(d);
	rv_manifest_free(b);
	/* a mount where the image has nothing is not drift either */
	b = new_m();
	base(b);
	put(b, E("/app/secrets", RV_FT_MOUNT, 0755, 0));
	done(b);
	d = diff(a, b, NULL, 0);
	assert_int_equal(d->count, 0);
	assert_int_equal(d->masked, 0);
	rv_diff_free(d);
	d = diff(b, a, NULL, 0);
	assert_int_equal(d->count, 0);
	rv_diff_free(d);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static void test_unreadable(void **state)
{
	rv_manifest *a = new_m(), *b, *c;
	rv_manifest_entry e;
	const rv_diff_change *ch;
	rv_diff *d;
	char *s;

	(void)state;
	base(a);
	done(a);

	/* b could not read a file that is otherwise the same */
	e = E("/app/data.txt", RV_FT_FILE, 0644, 0);
	e.err = EACCES;
	b = base_with(e);
	d = diff(a, b, NULL, 0);
	ch = only(d, "/app/data.txt", RV_DIFF_UNREADABLE, RV_SEV_MEDIUM);
	assert_string_equal(rv_diff_kind_name(ch), "unreadable");
	assert_int_equal(d->errors_a, 0);
	assert_int_equal(d->errors_b, 1);
	s = describe(ch);
	assert_string_equal(s, "unreadable in b: EACCES");
	free(s);
	rv_diff_free(d);
	/* the other way round it is a's error */
	d = diff(b, a, NULL, 0);
	only(d, "/app/data.txt", RV_DIFF_UNREADABLE, RV_SEV_MEDIUM);
	assert_int_equal(d->errors_a, 1);
	assert_int_equal(d->errors_b, 0);
	rv_diff_free(d);
	/* unreadable on both sides: still not clean */
	d = diff(b, b, NULL, 0);
	only(d, "/app/data.txt", RV_DIFF_UNREADABLE, RV_SEV_MEDIUM);
	assert_int_equal(d->errors_a, 1);
	assert_int_equal(d->errors_b, 1);
	rv_diff_free(d);
	rv_manifest_free(b);

	/* what lstat told is still compared */
	e = E("/app/bin/server", RV_FT_FILE, 04755, 0);
	e.err = EACCES;
	e.uid = 7;
	b = base_with(e);
	d = diff(a, b, NULL, 0);
	ch = only(d, "/app/bin/server",
		RV_DIFF_UNREADABLE | RV_DIFF_MODE | RV_DIFF_OWNER, RV_SEV_HIGH);
	assert_int_equal(ch->setid_gained, 1);
	s = describe(ch);
	assert_string_equal(s, "mode 0755->4755, uid 0->7, "
		"unreadable in b: EACCES, exec, setid");
	free(s);
	rv_diff_free(d);
	rv_manifest_free(b);

	/* lstat failed: type unknown, only the error is reported */
	e = E("/app/data.txt", RV_FT_UNKNOWN, 0, 0);
	e.err = EIO;
	b = base_with(e);
	d = diff(a, b, NULL, 0);
	only(d, "/app/data.txt", RV_DIFF_UNREADABLE, RV_SEV_MEDIUM);
	rv_diff_free(d);
	rv_manifest_free(b);

	/* added and unreadable */
	b = new_m();
	base(b);
	e = E("/app/x", RV_FT_FILE, 0700, 0);
	e.err = EACCES;
	put(b, e);
	done(b);
	d = diff(a, b, NULL, 0);
	ch = only(d, "/app/x", RV_DIFF_ADDED | RV_DIFF_UNREADABLE, RV_SEV_HIGH);
	assert_string_equal(rv_diff_kind_name(ch), "added");
	s = describe(ch);
	assert_string_equal(s, "file, mode 0700, owner 0:0, unreadable: EACCES, exec");
	free(s);
	assert_int_equal(d->errors_b, 1);
	rv_diff_free(d);
	rv_manifest_free(b);

	/* an unreadable directory in b: a's children are unknown, not
	 * removed, and the directory itself says "incomplete" */
	b = new_m();
	c = new_m();
	put(b, E("/app", RV_FT_DIR, 0755, 0));
	put(b, E("/app/bin", RV_FT_DIR, 0755, 0));
	put(b, E("/app/bin/server", RV_FT_FILE, 0755, 1));
	e = E("/app/config", RV_FT_DIR, 0755, 0);
	e.err = EACCES;
	put(b, e);
	put(b, E("/app/data.txt", RV_FT_FILE, 0644, 3));
	put(b, E("/app/link", RV_FT_SYMLINK, 0777, 4));
	done(b);
	d = diff(a, b, NULL, 0);
	only(d, "/app/config", RV_DIFF_UNREADABLE, RV_SEV_MEDIUM);
	assert_int_equal(d->unknown, 1);
	assert_int_equal(d->errors_b, 1);
	rv_diff_free(d);
	/* and when b could read it but a could not, b's children are unknown */
	d = diff(b, a, NULL, 0);
	only(d, "/app/config", RV_DIFF_UNREADABLE, RV_SEV_MEDIUM);
	assert_int_equal(d->unknown, 1);
	assert_int_equal(d->errors_a, 1);
	rv_diff_free(d);
	/* a missing root (ENOENT, type unknown) hides nothing from view */
	e = E("/app", RV_FT_UNKNOWN, 0, 0);
	e.err = ENOENT;
	put(c, e);
	done(c);
	d = diff(a, c, NULL, 0);
	only(d, "/app", RV_DIFF_UNREADABLE, RV_SEV_MEDIUM);
	assert_int_equal(d->unknown, a->count - 1);
	rv_diff_free(d);
	rv_manifest_free(a);
	rv_manifest_free(b);
	rv_manifest_free(c);
}

static void test_allowlist(void **state)
{
	const char *const allow[] = { "/app/logs", "*.tmp" };
	rv_manifest *a = new_m(), *b = new_m();
	rv_manifest_entry e;
	rv_diff *d;

	(void)state;
	base(a);
	put(a, E("/app/logs", RV_FT_DIR, 0755, 0));
	put(a, E("/app/logs/old.log", RV_FT_FILE, 0644, 5));
	done(a);
	base(b);
	put(b, E("/app/logs", RV_FT_DIR, 0777, 0));       /* mode: allowed */
	put(b, E("/app/logs/new.log", RV_FT_FILE, 0644, 6)); /* added: allowed */
	put(b, E("/app/bin/x.tmp", RV_FT_FILE, 0755, 6));    /* added: allowed */
	e = E("/app/logs/locked", RV_FT_FILE, 0600, 0);      /* unreadable: allowed */
	e.err = EACCES;
	put(b, e);
	put(b, E("/app/logsX", RV_FT_FILE, 0644, 6));        /* not allowed */
	done(b);
	d = diff(a, b, allow, 2);
	only(d, "/app/logsX", RV_DIFF_ADDED, RV_SEV_MEDIUM);
	assert_int_equal(d->allowed, 5); /* + old.log removed */
	assert_int_equal(d->errors_b, 0);
	rv_diff_free(d);
	/* without the allowlist everything shows */
	d = diff(a, b, NULL, 0);
	assert_int_equal(d->count, 6);
	assert_int_equal(d->allowed, 0);
	assert_int_equal(d->errors_b, 1);
	rv_diff_free(d);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static void test_order_and_counts(void **state)
{
	rv_manifest *a = new_m(), *b = new_m();
	const char *want[] = {
		"/app/a", "/app/a b", "/app/a-b", "/app/a/b", "/app/a\xff",
	};
	rv_diff *d;
	size_t i;

	(void)state;
	put(a, E("/app", RV_FT_DIR, 0755, 0));
	put(a, E("/app/a-b", RV_FT_FILE, 0644, 1));  /* removed: low */
	put(a, E("/app/a", RV_FT_DIR, 0755, 0));     /* chmod dir: info */
	put(a, E("/app/a/b", RV_FT_FILE, 0644, 1));  /* modified: medium */
	done(a);
	put(b, E("/app", RV_FT_DIR, 0755, 0));
	put(b, E("/app/a\xff", RV_FT_FILE, 0755, 1)); /* added exec: high */
	put(b, E("/app/a", RV_FT_DIR, 0700, 0));
	put(b, E("/app/a/b", RV_FT_FILE, 0644, 2));
	put(b, E("/app/a b", RV_FT_FILE, 0644, 1));  /* added: medium */
	done(b);
	d = diff(a, b, NULL, 0);
	assert_int_equal(d->count, 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(path_of(&d->changes[i]), want[i]);
	assert_int_equal(d->by_severity[RV_SEV_INFO], 1);
	assert_int_equal(d->by_severity[RV_SEV_LOW], 1);
	assert_int_equal(d->by_severity[RV_SEV_MEDIUM], 2);
	assert_int_equal(d->by_severity[RV_SEV_HIGH], 1);
	rv_diff_free(d);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static void test_rejects_unsorted(void **state)
{
	rv_manifest *a = new_m(), *b = new_m();
	rv_diff *d = (rv_diff *)1;

	(void)state;
	put(a, E("/b", RV_FT_FILE, 0644, 1));
	put(a, E("/a", RV_FT_FILE, 0644, 1)); /* not sorted on purpose */
	assert_int_equal(rv_diff_compute(&d, a, b, NULL, 0), RV_EINVAL);
	assert_null(d);
	assert_non_null(strstr(rv_error_last(), "'/a'"));
	d = (rv_diff *)1;
	assert_int_equal(rv_diff_compute(&d, b, a, NULL, 0), RV_EINVAL);
	assert_null(d);
	rv_manifest_free(a);
	a = new_m();
	put(a, E("/a", RV_FT_FILE, 0644, 1));
	put(a, E("/a", RV_FT_FILE, 0644, 1)); /* a duplicate */
	assert_int_equal(rv_diff_compute(&d, a, b, NULL, 0), RV_EINVAL);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static void test_names(void **state)
{
	rv_diff_change c;

	(void)state;
	assert_string_equal(rv_severity_name(RV_SEV_INFO), "info");
	assert_string_equal(rv_severity_name(RV_SEV_LOW), "low");
	assert_string_equal(rv_severity_name(RV_SEV_MEDIUM), "medium");
	assert_string_equal(rv_severity_name(RV_SEV_HIGH), "high");
	assert_string_equal(rv_severity_name((rv_severity)9), "?");
	memset(&c, 0, sizeof(c));
	c.what = RV_DIFF_OWNER | RV_DIFF_MODE;
	assert_string_equal(rv_diff_kind_name(&c), "mode");
	c.what |= RV_DIFF_CONTENT;
	assert_string_equal(rv_diff_kind_name(&c), "modified");
	c.what |= RV_DIFF_TYPE;
	assert_string_equal(rv_diff_kind_name(&c), "type");
	c.what |= RV_DIFF_UNREADABLE;
	assert_string_equal(rv_diff_kind_name(&c), "unreadable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical_and_empty),
		cmocka_unit_test(test_added),
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_mode_owner),
		cmocka_unit_test(test_setid),
		cmocka_unit_test(test_type),
		cmocka_unit_test(test_mount_masks),
		cmocka_unit_test(test_mount_edge_cases),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_allowlist),
		cmocka_unit_test(test_order_and_counts),
		cmocka_unit_test(test_rejects_unsorted),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
