/* test_pkgcheck.c - the package side of a verification: both dbsets, findings, verdict inputs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/pkgcheck.h"
#include "util/error.h"
#include "util/banned.h"

static const char osr[] = "ID=debian\nVERSION_ID=\"12\"\n";
static const char status1[] =
	"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n\n"
	"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13\n\n";
static const char status_added[] =
	"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n\n"
	"Package: nmap\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.93\n\n"
	"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.14\n\n";
static const char meta_yaml[] = "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n";
static const char npm_lp[] = "{\"name\": \"left-pad\", \"version\": \"1.3.0\"}";

#define YAML_META "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"
#define LP_JSON "/app/node_modules/left-pad/package.json"

static void add(rv_dbset *s, const char *path, const char *text)
{
	assert_int_equal(rv_dbset_add(s, path, strlen(path), text, strlen(text)), 0);
}

static void add_fail(rv_dbset *s, const char *path, const char *why)
{
	assert_int_equal(rv_dbset_add_failed(s, path, strlen(path), why), 0);
}

/* The image: two debs, a Python and an npm package. */
static rv_dbset *image_set(void)
{
	rv_dbset *s;

	assert_int_equal(rv_dbset_new(&s), 0);
	add(s, "/etc/os-release", osr);
	add(s, "/var/lib/dpkg/status", status1);
	add(s, YAML_META, meta_yaml);
	add(s, LP_JSON, npm_lp);
	assert_int_equal(rv_dbset_sort(s), 0);
	return s;
}

/* rv_pkgcheck_run with the digests verify has: each set's comparable one. */
static int check_sets(rv_pkgcheck **pc, const rv_dbset *img, const rv_sbom *cat,
	const rv_dbset *rt)
{
	unsigned char di[RV_SHA256_LEN], dr[RV_SHA256_LEN];

	assert_int_equal(rv_dbset_digest_comparable(di, img), 0);
	assert_int_equal(rv_dbset_digest_comparable(dr, rt), 0);
	return rv_pkgcheck_run(pc, img, di, cat, rt, dr);
}

static rv_pkgcheck *run(const rv_dbset *img, rv_sbom **cat, const rv_dbset *rt)
{
	rv_pkgcheck *pc = NULL;

	if (!*cat)
		assert_int_equal(rv_pkgcheck_catalogue(cat, img), 0);
	assert_int_equal(check_sets(&pc, img, *cat, rt), 0);
	return pc;
}

static const char *kind_at(const rv_pkgcheck *pc, size_t i)
{
	return json_string_value(json_object_get(json_array_get(pc->findings, i), "kind"));
}

static const char *field_at(const rv_pkgcheck *pc, size_t i, const char *f)
{
	return json_string_value(json_object_get(json_array_get(pc->findings, i), f));
}

/* Equal sets (mount records aside): nothing to catalogue, nothing found. */
static void test_equal(void **state)
{
	rv_dbset *img = image_set(), *rt = image_set();
	rv_pkgcheck *pc = NULL;

	(void)state;
	add_fail(rt, "/var/run/secrets/kubernetes.io/serviceaccount", "mount point, not descended");
	assert_int_equal(rv_dbset_sort(rt), 0);
	/* no catalogue needed when equal */
	assert_int_equal(check_sets(&pc, img, NULL, rt), 0);
	assert_true(pc->equal);
	assert_int_equal(json_array_size(pc->findings), 0);
	assert_true(rv_pkgcheck_complete(pc));
	assert_int_equal(pc->changes_text.len, 0);
	rv_pkgcheck_free(pc);
	rv_dbset_free(img);
	rv_dbset_free(rt);
}

/* A runtime install and an upgrade, a pip package gone: the three kinds
 * with their severities, in kind order. */
static void test_changes(void **state)
{
	rv_dbset *img = image_set(), *rt;
	rv_sbom *cat = NULL;
	rv_pkgcheck *pc;

	(void)state;
	assert_int_equal(rv_dbset_new(&rt), 0);
	add(rt, "/etc/os-release", osr);
	add(rt, "/var/lib/dpkg/status", status_added);
	add(rt, LP_JSON, npm_lp);
	assert_int_equal(rv_dbset_sort(rt), 0);
	pc = run(img, &cat, rt);
	assert_false(pc->equal);
	assert_int_equal(pc->added, 1);
	assert_int_equal(pc->changed, 1);
	assert_int_equal(pc->removed, 1);
	assert_int_equal(json_array_size(pc->findings), 3);
	assert_string_equal(kind_at(pc, 0), "package-added");
	assert_string_equal(field_at(pc, 0, "severity"), "high");
	assert_string_equal(field_at(pc, 0, "details"),
		"pkg:deb/debian/nmap@7.93?arch=amd64&distro=debian-12");
	assert_string_equal(field_at(pc, 0, "path"), "/var/lib/dpkg/status");
	assert_string_equal(kind_at(pc, 1), "package-changed");
	assert_string_equal(field_at(pc, 1, "severity"), "medium");
	assert_non_null(strstr(field_at(pc, 1, "details"), "zlib1g@1:1.2.13"));
	assert_non_null(strstr(field_at(pc, 1, "details"), "-> 1:1.2.14"));
	assert_string_equal(kind_at(pc, 2), "package-removed");
	assert_string_equal(field_at(pc, 2, "severity"), "low");
	assert_string_equal(field_at(pc, 2, "details"), "pkg:pypi/pyyaml@6.0");
	assert_true(rv_pkgcheck_complete(pc));
	assert_true(pc->changes_text.len > 0);
	assert_int_equal(json_integer_value(json_object_get(pc->summary, "runtimePackages")), 4);
	assert_int_equal(json_integer_value(json_object_get(pc->summary, "imagePackages")), 4);
	rv_pkgcheck_free(pc);
	rv_dbset_free(rt);
	rv_dbset_free(img);
	rv_sbom_free(cat);
}

/* What the runtime side could not see is never "removed": under a mount
 * it is masked; behind an unreadable database it is unknown, and the
 * check is incomplete. */
static void test_not_seen_is_not_removed(void **state)
{
	rv_dbset *img = image_set(), *rt;
	rv_sbom *cat = NULL;
	rv_pkgcheck *pc;

	(void)state;
	assert_int_equal(rv_dbset_new(&rt), 0);
	add(rt, "/etc/os-release", osr);
	add_fail(rt, "/var/lib/dpkg/status", "cannot read: EACCES");
	add_fail(rt, "/app/node_modules", "mount point, not descended");
	add_fail(rt, YAML_META, "larger than the limit of 4194304 bytes");
	assert_int_equal(rv_dbset_sort(rt), 0);
	pc = run(img, &cat, rt);
	assert_int_equal(pc->added + pc->removed + pc->changed, 0);
	assert_int_equal(pc->masked, 1);      /* left-pad, under the mount */
	assert_int_equal(pc->unknown, 3);     /* two debs, PyYAML */
	assert_int_equal(pc->unreadable, 2);
	assert_false(rv_pkgcheck_complete(pc));
	assert_int_equal(json_array_size(pc->findings), 2);
	assert_string_equal(kind_at(pc, 0), "package-unreadable");
	assert_string_equal(field_at(pc, 0, "details"), "runtime: larger than the limit of 4194304 bytes");
	assert_string_equal(field_at(pc, 1, "path"), "/var/lib/dpkg/status");
	assert_string_equal(field_at(pc, 1, "details"), "runtime: cannot read: EACCES");
	assert_int_equal(pc->changes_text.len, 0);
	rv_pkgcheck_free(pc);
	rv_dbset_free(rt);
	rv_dbset_free(img);
	rv_sbom_free(cat);
}

/* The image's unreadable database: its packages are not "added" at
 * runtime; a malformed runtime database is a warning naming it. */
static void test_image_side_and_warnings(void **state)
{
	rv_dbset *img, *rt = image_set();
	rv_sbom *cat = NULL;
	rv_pkgcheck *pc;

	(void)state;
	assert_int_equal(rv_dbset_new(&img), 0);
	add(img, "/etc/os-release", osr);
	add_fail(img, "/var/lib/dpkg/status", "larger than the limit of 67108864 bytes");
	add(img, YAML_META, meta_yaml);
	add(img, LP_JSON, npm_lp);
	assert_int_equal(rv_dbset_sort(img), 0);
	add(rt, "/app/node_modules/bad/package.json", "{not json");
	assert_int_equal(rv_dbset_sort(rt), 0);
	pc = run(img, &cat, rt);
	assert_int_equal(pc->added, 0);
	assert_int_equal(pc->unknown, 2);
	assert_int_equal(pc->unreadable, 1);
	assert_int_equal(pc->warnings, 1);
	assert_false(rv_pkgcheck_complete(pc));
	/* the unparseable database is new at runtime: a change of its own */
	assert_int_equal(pc->db_changed, 1);
	assert_string_equal(kind_at(pc, 0), "package-database-changed");
	assert_string_equal(field_at(pc, 0, "path"), "/app/node_modules/bad/package.json");
	assert_string_equal(field_at(pc, 0, "details"), "added at runtime");
	assert_string_equal(kind_at(pc, 1), "package-unreadable");
	assert_string_equal(field_at(pc, 1, "details"), "image: larger than the limit of 67108864 bytes");
	assert_string_equal(kind_at(pc, 2), "package-warning");
	assert_string_equal(field_at(pc, 2, "path"), "/app/node_modules/bad/package.json");
	assert_string_equal(field_at(pc, 2, "severity"), "low");
	rv_pkgcheck_free(pc);
	rv_dbset_free(rt);
	rv_dbset_free(img);
	rv_sbom_free(cat);
}

/* The same unreadable database on both sides: equal digests, and still
 * not complete, since nobody read those bytes. */
static void test_equal_but_unread(void **state)
{
	rv_dbset *img;
	rv_pkgcheck *pc = NULL;

	(void)state;
	assert_int_equal(rv_dbset_new(&img), 0);
	add_fail(img, "/var/lib/rpm/rpmdb.sqlite", "larger than the limit of 268435456 bytes");
	assert_int_equal(rv_dbset_sort(img), 0);
	assert_int_equal(check_sets(&pc, img, NULL, img), 0);
	assert_true(pc->equal);
	assert_false(rv_pkgcheck_complete(pc));
	assert_string_equal(field_at(pc, 0, "details"), "both: larger than the limit of 268435456 bytes");
	rv_pkgcheck_free(pc);
	/* differing sets need the image's catalogue */
	{
		rv_dbset *rt = image_set();

		assert_int_equal(check_sets(&pc, img, NULL, rt), RV_EINVAL);
		assert_null(pc);
		rv_dbset_free(rt);
	}
	rv_dbset_free(img);
}

/* Different bytes are never clean because the purls agree: each of these
 * changes no purl, and each is a package-database-changed finding. */
static void test_bytes_not_explained_by_purls(void **state)
{
	static const struct { const char *path, *text, *why; } cases[] = {
		/* a second copy of an installed package (a trojaned build) */
		{ "/root/.local/lib/python3.11/site-packages/PyYAML-6.0.dist-info/METADATA",
		  "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n", "added at runtime" },
		/* METADATA rewritten in place, same name and version */
		{ YAML_META, "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nSummary: x\n",
		  "contents changed" },
		/* a database the parser cannot read */
		{ "/usr/lib/python3/dist-packages/evil-6.6.6.dist-info/METADATA",
		  "Metadata-Version: 2.1\nVersion: 6.6.6\n", "added at runtime" },
		/* a dpkg stanza that is not installed */
		{ "/var/lib/dpkg/status", "Package: libc6\nStatus: install ok installed\n"
		  "Architecture: amd64\nVersion: 2.36-9\n\nPackage: nc\nStatus: deinstall ok "
		  "config-files\nVersion: 1\n\nPackage: zlib1g\nStatus: install ok installed\n"
		  "Architecture: amd64\nVersion: 1:1.2.13\n\n", "contents changed" },
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		rv_dbset *img = image_set(), *rt;
		rv_sbom *cat = NULL;
		rv_pkgcheck *pc;
		size_t i;

		assert_int_equal(rv_dbset_new(&rt), 0);
		for (i = 0; i < img->n; i++)
			if (strcmp(img->files[i].path, cases[k].path))
				assert_int_equal(rv_dbset_add(rt, img->files[i].path, img->files[i].path_len,
					img->files[i].data, img->files[i].size), 0);
		add(rt, cases[k].path, cases[k].text);
		assert_int_equal(rv_dbset_sort(rt), 0);
		pc = run(img, &cat, rt);
		if (pc->added + pc->removed + pc->changed != 0 || pc->db_changed != 1)
			fail_msg("case %zu: %zu added, %zu removed, %zu changed, %zu databases", k,
				pc->added, pc->removed, pc->changed, pc->db_changed);
		assert_string_equal(kind_at(pc, 0), "package-database-changed");
		assert_string_equal(field_at(pc, 0, "path"), cases[k].path);
		assert_non_null(strstr(field_at(pc, 0, "details"), cases[k].why));
		assert_true(pc->changes_text.len > 0);
		rv_pkgcheck_free(pc);
		rv_dbset_free(rt);
		rv_dbset_free(img);
		rv_sbom_free(cat);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_bytes_not_explained_by_purls),
		cmocka_unit_test(test_not_seen_is_not_removed),
		cmocka_unit_test(test_image_side_and_warnings),
		cmocka_unit_test(test_equal_but_unread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
