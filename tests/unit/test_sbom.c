/* test_sbom.c - package catalogue: wanted paths, parsers, purls, warnings, CycloneDX, diff */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/glob.h"
#include "sources/sbom/sbom.h"
#include "sources/sbom/sbom_cdx.h"
#include "sources/sbom/sbom_diff.h"
#include "util/error.h"

static rv_sbom *cat(void)
{
	rv_sbom *s;

	assert_int_equal(rv_sbom_new(&s), 0);
	return s;
}

static void feed(rv_sbom *s, const char *path, const char *text)
{
	assert_int_equal(rv_sbom_feed(s, path, strlen(path), text, strlen(text)), 0);
}

static const rv_sbom_pkg *find(const rv_sbom *s, const char *purl)
{
	size_t i;

	for (i = 0; i < s->npkgs; i++)
		if (strcmp(s->pkgs[i].purl, purl) == 0)
			return &s->pkgs[i];
	return NULL;
}

static int has_warning(const rv_sbom *s, const char *path, const char *needle)
{
	size_t i;

	for (i = 0; i < s->nwarnings; i++)
		if (strcmp(s->warnings[i].path, path) == 0 &&
		    strstr(s->warnings[i].message, needle))
			return 1;
	return 0;
}

static void test_wants(void **state)
{
	static const struct {
		const char *path;
		rv_sbom_kind kind;
	} cases[] = {
		{ "/var/lib/dpkg/status", RV_SBOM_DPKG },
		{ "/var/lib/dpkg/status-old", RV_SBOM_NONE },
		{ "/var/lib/dpkg/status.d/base", RV_SBOM_DPKG_D },
		{ "/var/lib/dpkg/status.d/base.md5sums", RV_SBOM_NONE },
		{ "/var/lib/dpkg/status.d/sub/x", RV_SBOM_NONE },
		{ "/lib/apk/db/installed", RV_SBOM_APK },
		{ "/var/lib/rpm/rpmdb.sqlite", RV_SBOM_RPM },
		{ "/usr/lib/sysimage/rpm/rpmdb.sqlite", RV_SBOM_RPM },
		{ "/etc/os-release", RV_SBOM_OS_RELEASE },
		{ "/usr/lib/os-release", RV_SBOM_OS_RELEASE },
		{ "/x/etc/os-release", RV_SBOM_NONE },
		{ "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA", RV_SBOM_PYTHON },
		{ "/v/lib/python3.11/site-packages/a.egg-info/PKG-INFO", RV_SBOM_PYTHON },
		{ "/usr/lib/python3/dist-packages/crit-3.17.1-py3.11.egg-info", RV_SBOM_PYTHON },
		{ "/.dist-info/METADATA", RV_SBOM_NONE },
		{ "/a.dist-info/RECORD", RV_SBOM_NONE },
		{ "/app/node_modules/express/package.json", RV_SBOM_NPM },
		{ "/app/node_modules/@types/node/package.json", RV_SBOM_NPM },
		{ "/app/node_modules/a/node_modules/b/package.json", RV_SBOM_NPM },
		{ "/app/node_modules/express/lib/package.json", RV_SBOM_NONE },
		{ "/app/node_modules/.bin/package.json", RV_SBOM_NONE },
		{ "/app/node_modules/@types/package.json", RV_SBOM_NONE },
		{ "/app/package.json", RV_SBOM_NONE },
		{ "var/lib/dpkg/status", RV_SBOM_NONE },
		{ "/", RV_SBOM_NONE },
	};
	size_t i, max, nglobs;
	const char *const *globs = rv_sbom_db_globs(&nglobs);

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rv_sbom_kind k = rv_sbom_wants(cases[i].path, strlen(cases[i].path), &max);

		if (k != cases[i].kind)
			fail_msg("%s: kind %d, expected %d", cases[i].path, k,
				cases[i].kind);
		assert_true(k == RV_SBOM_NONE ? max == 0 : max > 0);
		/* a probe choosing files by rv_sbom_db_globs() finds them all */
		if (k != RV_SBOM_NONE &&
		    !rv_glob_match_any(globs, nglobs, cases[i].path, strlen(cases[i].path)))
			fail_msg("%s: no glob of rv_sbom_db_globs() matches", cases[i].path);
	}
	assert_int_equal(rv_sbom_wants("/var/lib/dpkg/status\0x", 22, NULL),
		RV_SBOM_NONE);
}

static const char dpkg_status[] =
	"Package: libc6\n"
	"Status: install ok installed\n"
	"Priority: optional\n"
	"Architecture: amd64\n"
	"Multi-Arch: same\n"
	"Source: glibc\n"
	"Version: 2.36-9+deb12u4\n"
	"Description: GNU C Library: Shared libraries\n"
	" Contains the standard libraries.\n"
	" .\n"
	" More.\n"
	"\n"
	"Package: libgcc-s1\n"
	"Status: install ok installed\n"
	"Architecture: amd64\n"
	"Source: gcc-12 (12.2.0-14)\n"
	"Version: 1:12.2.0-14\n"
	"\n"
	"Package: oldpkg\n"
	"Status: deinstall ok config-files\n"
	"Architecture: amd64\n"
	"Version: 1.0\n"
	"\n"
	"Package: gone\n"
	"Status: purge ok not-installed\n"
	"Architecture: amd64\n"
	"\n"
	"\n"
	"package: half\n"
	"status: install reinstreq half-configured\n"
	"architecture: all\n"
	"version: 0.1~rc1\n";

static void test_dpkg(void **state)
{
	rv_sbom *s = cat();
	const rv_sbom_pkg *p;

	(void)state;
	feed(s, "/var/lib/dpkg/status", dpkg_status);
	feed(s, "/etc/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\n"
		"VERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
	assert_int_equal(rv_sbom_finish(s), 0);
	assert_int_equal(s->npkgs, 3);
	assert_int_equal(s->nwarnings, 0);
	assert_string_equal(s->os.id, "debian");
	assert_string_equal(s->os.version_id, "12");
	p = find(s, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc");
	assert_non_null(p);
	assert_string_equal(p->location, "/var/lib/dpkg/status");
	assert_string_equal(p->version, "2.36-9+deb12u4");
	assert_non_null(find(s, "pkg:deb/debian/libgcc-s1@1:12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12"));
	assert_non_null(find(s, "pkg:deb/debian/half@0.1~rc1?arch=all&distro=debian-12"));
	/* sorted by purl */
	assert_true(strcmp(s->pkgs[0].purl, s->pkgs[1].purl) < 0);
	assert_true(strcmp(s->pkgs[1].purl, s->pkgs[2].purl) < 0);
	rv_sbom_free(s);
}

/* A dbset (what a probe or an image's layers collected) feeds the same
 * packages as the files themselves, and its failed records are warnings. */
static void test_feed_dbset(void **state)
{
	static const char osr[] = "ID=debian\nVERSION_ID=\"12\"\n";
	rv_sbom *s = cat(), *direct = cat();
	rv_dbset *set;
	size_t i;

	(void)state;
	assert_int_equal(rv_dbset_new(&set), 0);
	assert_int_equal(rv_dbset_add(set, "/var/lib/dpkg/status", 20, dpkg_status,
		strlen(dpkg_status)), 0);
	assert_int_equal(rv_dbset_add(set, "/etc/os-release", 15, osr, strlen(osr)), 0);
	assert_int_equal(rv_dbset_add_failed(set, "/lib/apk/db/installed", 21, "EACCES"), 0);
	assert_int_equal(rv_dbset_add(set, "/etc/passwd", 11, "root", 4), 0);
	assert_int_equal(rv_dbset_sort(set), 0);
	assert_int_equal(rv_sbom_feed_dbset(s, set), 0);
	assert_int_equal(rv_sbom_finish(s), 0);
	feed(direct, "/var/lib/dpkg/status", dpkg_status);
	feed(direct, "/etc/os-release", osr);
	assert_int_equal(rv_sbom_finish(direct), 0);
	assert_int_equal(s->npkgs, direct->npkgs);
	for (i = 0; i < s->npkgs; i++)
		assert_string_equal(s->pkgs[i].purl, direct->pkgs[i].purl);
	assert_int_equal(s->nwarnings, 2);
	assert_string_equal(s->warnings[0].path, "/etc/passwd");
	assert_string_equal(s->warnings[0].message, "not a package database");
	assert_string_equal(s->warnings[1].path, "/lib/apk/db/installed");
	assert_string_equal(s->warnings[1].message, "EACCES");
	/* a finished catalogue takes nothing more */
	assert_int_equal(rv_sbom_feed_dbset(s, set), RV_EINVAL);
	rv_dbset_free(set);
	rv_sbom_free(s);
	rv_sbom_free(direct);
}

static void test_dpkg_malformed(void **state)
{
	rv_sbom *s = cat();

	(void)state;
	feed(s, "/var/lib/dpkg/status",
		"Package: good\nVersion: 1\nArchitecture: all\n\n"
		"this line has no colon\n"
		"Package: noversion\nStatus: install ok installed\n\n"
		"Version: 2\nArchitecture: all\n\n"
		"Package: alsogood\nVersion: 3\n");
	assert_int_equal(rv_sbom_finish(s), 0);
	assert_int_equal(s->npkgs, 2);
	assert_true(has_warning(s, "/var/lib/dpkg/status", "'noversion'"));
	assert_true(has_warning(s, "/var/lib/dpkg/status", "no Package field"));
	assert_true(has_warning(s, "/var/lib/dpkg/status", "1 malformed line (the first at line 5)"));
	/* no os-release: Debian's namespace, no distro qualifier */
	assert_non_null(find(s, "pkg:deb/debian/good@1?arch=all"));
	rv_sbom_free(s);
}

static void test_dpkg_status_d(void **state)
{
	rv_sbom *s = cat();

	(void)state;
	/* distroless: one file per package, no Status field */
	feed(s, "/var/lib/dpkg/status.d/base-files",
		"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n");
	feed(s, "/var/lib/dpkg/status.d/tzdata",
		"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n");
	feed(s, "/usr/lib/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
	assert_int_equal(rv_sbom_finish(s), 0);
	assert_int_equal(s->npkgs, 2);
	assert_non_null(find(s, "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12"));
	assert_string_equal(s->pkgs[1].location, "/var/lib/dpkg/status.d/tzdata");
	rv_sbom_free(s);
}

static void test_apk(void **state)
{
	rv_sbom *s = cat();

	(void)state;
	feed(s, "/lib/apk/db/installed",
		"C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\no:musl\n"
		"F:lib\nR:libc.musl-x86_64.so.1\na:0:0:777\nZ:Q1x=\n\n"
		"P:busybox\nV:1.36.1-r15\nA:x86_64\no:busybox\n\n"
		"bad line\n"
		"P:noversion\n\n");
	feed(s, "/etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n");
	assert_int_equal(rv_sbom_finish(s), 0);
	assert_int_equal(s->npkgs, 2);
	assert_non_null(find(s, "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1&upstream=musl"));
	assert_true(has_warning(s, "/lib/apk/db/installed", "no V: line"));
	assert_true(has_warning(s, "/lib/apk/db/installed", "1 malformed line"));
	rv_sbom_free(s);
}

static void test_python(void **state)
{
	rv_sbom *s = cat();
	const rv_sbom_pkg *p;

	(void)state;
	feed(s, "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA",
		"Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n"
		"Summary: YAML parser\n  continued\n\nName: NotThis\n");
	feed(s, "/usr/lib/python3/dist-packages/zope.interface-5.5.egg-info/PKG-INFO",
		"Metadata-Version: 1.2\r\nName: zope.interface\r\nVersion: 5.5.2\r\n");
	feed(s, "/usr/lib/python3/dist-packages/crit-3.17.1.egg-info",
		"Metadata-Version: 1.0\nName: crit\nVersion: 3.17.1\n");
	feed(s, "/v/lib/python3.11/site-packages/trunc-1.0.dist-info/METADATA",
		"Metadata-Version: 2.1\nNam");
	feed(s, "/v/lib/python3.11/site-packages/empty-1.0.dist-info/METADATA", "");
	assert_int_equal(rv_sbom_finish(s), 0);
	assert_int_equal(s->npkgs, 3);
	p = find(s, "pkg:pypi/pyyaml@6.0");
	assert_non_null(p);
	assert_string_equal(p->name, "PyYAML");
	assert_string_equal(p->location, "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info");
	assert_non_null(find(s, "pkg:pypi/zope-interface@5.5.2"));
	p = find(s, "pkg:pypi/crit@3.17.1");
	assert_non_null(p);
	assert_string_equal(p->location, "/usr/lib/python3/dist-packages/crit-3.17.1.egg-info");
	assert_true(has_warning(s, "/v/lib/python3.11/site-packages/trunc-1.0.dist-info/METADATA", "no Name header"));
	assert_true(has_warning(s, "/v/lib/python3.11/site-packages/empty-1.0.dist-info/METADATA", "empty file"));
	rv_sbom_free(s);
}

static void test_npm(void **state)
{
	rv_sbom *s = cat();
	const rv_sbom_pkg *p;

	(void)state;
	feed(s, "/app/node_modules/@types/node/package.json",
		"{\"name\":\"@types/node\",\"version\":\"20.11.5\",\"license\":\"MIT\"}");
	feed(s, "/app/node_modules/express/package.json",
		"{\"name\":\"express\",\"version\":\"4.21.2\"}");
	feed(s, "/app/node_modules/express/node_modules/debug/package.json",
		"{\"name\":\"debug\",\"version\":\"2.6.9\"}");
	feed(s, "/app/node_modules/broken/package.json", "{\"name\": \"broken\", ");
	feed(s, "/app/node_modules/arr/package.json", "[1,2]");
	feed(s, "/app/node_modules/nover/package.json", "{\"name\":\"nover\"}");
	feed(s, "/app/node_modules/nul/package.json", "{\"name\":\"a\\u0000b\",\"version\":\"1\"}");
	assert_int_equal(rv_sbom_finish(s), 0);
	assert_int_equal(s->npkgs, 3);
	p = find(s, "pkg:npm/%40types/node@20.11.5");
	assert_non_null(p);
	assert_string_equal(p->ns, "@types");
	assert_string_equal(p->name, "node");
	assert_string_equal(p->location, "/app/node_modules/@types/node");
	assert_non_null(find(s, "pkg:npm/debug@2.6.9"));
	assert_true(has_warning(s, "/app/node_modules/broken/package.json", "not JSON"));
	assert_true(has_warning(s, "/app/node_modules/arr/package.json", "not a JSON object"));
	assert_true(has_warning(s, "/app/node_modules/nover/package.json", "no \"version\" string"));
	assert_true(has_warning(s, "/app/node_modules/nul/package.json", "not JSON"));
	rv_sbom_free(s);
}

static void test_oversized_and_errors(void **state)
{
	rv_sbom *s = cat();
	size_t max, size;
	char *big;

	(void)state;
	assert_int_equal(rv_sbom_wants("/etc/os-release", 15, &max), RV_SBOM_OS_RELEASE);
	size = max + 1;
	big = calloc(1, size);
	assert_non_null(big);
	memset(big, 'A', size);
	assert_int_equal(rv_sbom_feed(s, "/etc/os-release", 15, big, size), 0);
	free(big);
	assert_true(has_warning(s, "/etc/os-release", "larger than the limit"));
	assert_int_equal(rv_sbom_feed_failed(s, "/var/lib/dpkg/status", 20,
		"cannot open: Permission denied"), 0);
	assert_true(has_warning(s, "/var/lib/dpkg/status", "Permission denied"));
	/* not a database */
	assert_int_equal(rv_sbom_feed(s, "/etc/passwd", 11, "x", 1), RV_EINVAL);
	assert_int_equal(rv_sbom_finish(s), 0);
	assert_int_equal(rv_sbom_finish(s), RV_EINVAL);
	assert_int_equal(rv_sbom_feed(s, "/var/lib/dpkg/status", 20, "", 0), RV_EINVAL);
	rv_sbom_free(s);
}

static void test_purl_encoding(void **state)
{
	rv_buf b = RV_BUF_INIT(4096);
	rv_sbom_pkg p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.type = "pypi";
	p.name = "Zope__Interface..x";
	p.version = "1.0+local/x y";
	assert_int_equal(rv_sbom_purl(&b, &p, "ignored-for-pypi"), 0);
	assert_string_equal(b.ptr, "pkg:pypi/zope-interface-x@1.0%2Blocal%2Fx%20y");
	rv_buf_reset(&b);
	memset(&p, 0, sizeof(p));
	p.type = "rpm";
	p.ns = "fedora";
	p.name = "curl";
	p.version = "7.50.3-1.fc25";
	p.arch = "i386";
	p.epoch = "1";
	assert_int_equal(rv_sbom_purl(&b, &p, "fedora-25"), 0);
	assert_string_equal(b.ptr, "pkg:rpm/fedora/curl@7.50.3-1.fc25?arch=i386&distro=fedora-25&epoch=1");
	rv_buf_reset(&b);
	assert_int_equal(rv_sbom_purl_encode(&b, "a@b?c#d&e=f\xff", 12), 0);
	assert_string_equal(b.ptr, "a%40b%3Fc%23d%26e%3Df%FF");
	rv_buf_dispose(&b);
}

static rv_sbom *sample(const char *const *purls, size_t n)
{
	rv_sbom *s = cat();
	rv_sbom_pkg p;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&p, 0, sizeof(p));
		p.type = "x";
		p.name = "n";
		p.version = "v";
		p.location = "/l";
		p.purl = (char *)purls[i];
		assert_int_equal(rv_sbom_add(s, &p), 0);
	}
	assert_int_equal(rv_sbom_finish(s), 0);
	return s;
}

static void test_diff(void **state)
{
	static const char *const a_purls[] = {
		"pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12",
		"pkg:deb/debian/libc6@2.36-9?arch=i386&distro=debian-12",
		"pkg:deb/debian/gone@1?arch=all&distro=debian-12",
		"pkg:npm/lodash@4.17.21",
		"pkg:npm/lodash@3.10.1",
		"pkg:pypi/same@1.0",
		"pkg:pypi/same@1.0",
	};
	static const char *const b_purls[] = {
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-13&upstream=glibc",
		"pkg:deb/debian/libc6@2.36-9?arch=i386&distro=debian-12",
		"pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12",
		"pkg:npm/lodash@4.17.21",
		"pkg:npm/lodash@2.4.2",
		"pkg:npm/lodash@1.0.0",
		"pkg:pypi/same@1.0",
	};
	rv_sbom *a = sample(a_purls, 7), *b = sample(b_purls, 7);
	rv_sbom_diff *d;
	rv_buf t = RV_BUF_INIT(1 << 16);
	size_t i;

	(void)state;
	assert_int_equal(rv_sbom_diff_compute(&d, a, b), 0);
	assert_int_equal(rv_sbom_diff_text(&t, d), 0);
	assert_int_equal(d->by_kind[RV_SBOM_ADDED], 3);   /* curl, lodash 2 and 1 */
	assert_int_equal(d->by_kind[RV_SBOM_REMOVED], 2); /* gone, lodash 3 */
	assert_int_equal(d->by_kind[RV_SBOM_CHANGED], 1); /* libc6 amd64 */
	assert_int_equal(d->count, 6);
	assert_int_equal(d->by_severity[RV_SEV_HIGH], 3);
	assert_non_null(strstr(t.ptr, "medium  changed pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12 -> 2.36-9%2Bdeb12u4\n"));
	assert_non_null(strstr(t.ptr, "high    added   pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12\n"));
	assert_non_null(strstr(t.ptr, "low     removed pkg:npm/lodash@3.10.1\n"));
	for (i = 0; i < d->count; i++)
		assert_true(d->changes[i].a || d->changes[i].b);
	rv_sbom_diff_free(d);
	/* a catalogue against itself: nothing */
	assert_int_equal(rv_sbom_diff_compute(&d, b, b), 0);
	assert_int_equal(d->count, 0);
	rv_sbom_diff_free(d);
	rv_buf_dispose(&t);
	rv_sbom_free(a);
	rv_sbom_free(b);
}

static void test_cdx_roundtrip(void **state)
{
	rv_buf out = RV_BUF_INIT(1 << 20), t = RV_BUF_INIT(1 << 20);
	rv_sbom_cdx_meta meta;
	rv_sbom *s = cat(), *r = NULL;
	rv_sbom_diff *d;
	size_t i;

	(void)state;
	feed(s, "/var/lib/dpkg/status", dpkg_status);
	feed(s, "/etc/os-release", "ID=debian\nVERSION_ID=12\n");
	feed(s, "/app/node_modules/@types/node/package.json",
		"{\"name\":\"@types/node\",\"version\":\"20.11.5\"}");
	/* the same package twice: bom-refs must stay unique */
	feed(s, "/a/node_modules/x/package.json", "{\"name\":\"x\",\"version\":\"1\"}");
	feed(s, "/b/node_modules/x/package.json", "{\"name\":\"x\",\"version\":\"1\"}");
	feed(s, "/c/X-1.dist-info/METADATA", "Name: caf\xe9\nVersion: 1\n");
	feed(s, "/app/node_modules/bad/package.json", "nope");
	assert_int_equal(rv_sbom_finish(s), 0);
	memset(&meta, 0, sizeof(meta));
	meta.name = "registry.example/app@sha256:00";
	meta.type = "container";
	meta.serial = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79";
	meta.timestamp = "";
	assert_int_equal(rv_sbom_cdx_write(&out, s, &meta), 0);
	assert_non_null(strstr(out.ptr, "\"specVersion\": \"1.5\""));
	assert_non_null(strstr(out.ptr, "\"serialNumber\": \"urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79\""));
	assert_non_null(strstr(out.ptr, "\"bom-ref\": \"pkg:npm/x@1#2\""));
	assert_non_null(strstr(out.ptr, "\"name\": \"caf?\""));
	assert_null(strstr(out.ptr, "timestamp"));
	assert_int_equal(rv_sbom_cdx_read(&r, out.ptr, out.len), 0);
	assert_int_equal(r->npkgs, s->npkgs);
	for (i = 0; i < s->npkgs; i++) {
		assert_string_equal(r->pkgs[i].purl, s->pkgs[i].purl);
		assert_string_equal(r->pkgs[i].location, s->pkgs[i].location);
	}
	assert_int_equal(r->nwarnings, 1);
	assert_string_equal(r->warnings[0].path, "/app/node_modules/bad/package.json");
	assert_int_equal(rv_sbom_diff_compute(&d, s, r), 0);
	assert_int_equal(d->count, 0);
	rv_sbom_diff_free(d);
	assert_int_equal(rv_sbom_text_write(&t, s), 0);
	assert_non_null(strstr(t.ptr, "packages: deb 3, pypi 1, npm 3"));
	assert_non_null(strstr(t.ptr, "warning: /app/node_modules/bad/package.json: not JSON"));
	rv_sbom_free(r);
	r = NULL;
	assert_int_equal(rv_sbom_cdx_read(&r, "{}", 2), RV_EFORMAT);
	assert_int_equal(rv_sbom_cdx_read(&r, "nope", 4), RV_EFORMAT);
	assert_int_equal(rv_sbom_cdx_read(&r, "{\"bomFormat\":\"CycloneDX\","
		"\"components\":[{\"purl\":\"nope\"}]}", 56), RV_EFORMAT);
	assert_null(r);
	rv_buf_dispose(&out);
	rv_buf_dispose(&t);
	rv_sbom_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wants),
		cmocka_unit_test(test_dpkg),
		cmocka_unit_test(test_feed_dbset),
		cmocka_unit_test(test_dpkg_malformed),
		cmocka_unit_test(test_dpkg_status_d),
		cmocka_unit_test(test_apk),
		cmocka_unit_test(test_python),
		cmocka_unit_test(test_npm),
		cmocka_unit_test(test_oversized_and_errors),
		cmocka_unit_test(test_purl_encoding),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_cdx_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
