/* test_registry_ref.c - image references, digests, manifests, platforms */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sources/oci/image.h"
#include "sources/oci/registry.h"
#include "util/error.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect_ref(const char *s, const char *reg, const char *repo,
	const char *tag, const char *digest)
{
	rv_registry_ref r;

	assert_int_equal(rv_registry_ref_parse(&r, s), 0);
	assert_string_equal(r.registry, reg);
	assert_string_equal(r.repository, repo);
	if (tag)
		assert_string_equal(r.tag, tag);
	else
		assert_null(r.tag);
	if (digest)
		assert_string_equal(r.digest, digest);
	else
		assert_null(r.digest);
	rv_registry_ref_dispose(&r);
}

static void test_ref_parse(void **state)
{
	(void)state;
	expect_ref("debian", "registry-1.docker.io", "library/debian", "latest", NULL);
	expect_ref("debian:12", "registry-1.docker.io", "library/debian", "12", NULL);
	expect_ref("docker.io/user/app:v1", "registry-1.docker.io", "user/app", "v1", NULL);
	expect_ref("localhost/app", "localhost", "app", "latest", NULL);
	expect_ref("127.0.0.1:5000/a/b/c:t-1.2_x", "127.0.0.1:5000", "a/b/c", "t-1.2_x", NULL);
	expect_ref("reg.example/app@sha256:" D64, "reg.example", "app", NULL, "sha256:" D64);
	expect_ref("reg.example:443/app:v2@sha256:" D64, "reg.example:443", "app", "v2", "sha256:" D64);
}

static void test_ref_reject(void **state)
{
	static const char *bad[] = {
		"", "UPPER/app", "reg.example/app@sha256:1234", "reg.example/app@sha256:" D64 "00",
		"reg.example/app:", "reg.example//app", "reg.example/app/", "app:.bad",
		"reg.example/app@md5:abcd", "/app", "a b",
	};
	rv_registry_ref r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = rv_registry_ref_parse(&r, bad[i]);
		if (rc == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(rc, RV_EINVAL);
	}
}

static void test_digest_check(void **state)
{
	(void)state;
	assert_int_equal(rv_registry_digest_check("sha256:" D64, 71), 0);
	assert_int_equal(rv_registry_digest_check("sha256:" D64, 70), RV_EFORMAT);
	assert_int_equal(rv_registry_digest_check("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", 71), RV_EFORMAT);
	assert_int_equal(rv_registry_digest_check("sha512:abcd", 11), RV_EUNSUPPORTED);
	assert_int_equal(rv_registry_digest_check("nocolon", 7), RV_EFORMAT);
	assert_int_equal(rv_registry_digest_check("", 0), RV_EFORMAT);
}

static void test_pick_platform(void **state)
{
	const char *ix =
		"{\"schemaVersion\":2,\"manifests\":["
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" D64 "\",\"size\":10,"
		" \"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\",\"size\":11,"
		" \"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:2222222222222222222222222222222222222222222222222222222222222222\",\"size\":12,"
		" \"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";
	char d[RV_REGISTRY_DIGEST_MAX];
	uint64_t size;

	(void)state;
	assert_int_equal(rv_image_pick_platform(d, &size, ix, strlen(ix), NULL), 0);
	assert_string_equal(d, "sha256:1111111111111111111111111111111111111111111111111111111111111111");
	assert_int_equal(size, 11);
	assert_int_equal(rv_image_pick_platform(d, &size, ix, strlen(ix), "linux/arm/v7"), 0);
	assert_string_equal(d, "sha256:" D64);
	assert_int_equal(rv_image_pick_platform(d, &size, ix, strlen(ix), "linux/arm"), 0);
	assert_int_equal(size, 10);
	assert_int_equal(rv_image_pick_platform(d, &size, ix, strlen(ix), "linux/arm/v6"), RV_ENOTFOUND);
	assert_non_null(strstr(rv_error_last(), "linux/arm/v7, linux/amd64"));
	assert_int_equal(rv_image_pick_platform(d, &size, ix, strlen(ix), "linux"), RV_EINVAL);
	assert_int_equal(rv_image_pick_platform(d, &size, "[]", 2, NULL), RV_EFORMAT);
	assert_int_equal(rv_image_pick_platform(d, &size, "{\"manifests\":[{\"digest\":\"sha256:x\",\"size\":1}]}",
		strlen("{\"manifests\":[{\"digest\":\"sha256:x\",\"size\":1}]}"), NULL), RV_EFORMAT);
}

static void test_manifest_parse(void **state)
{
	const char *good =
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"sha256:" D64 "\",\"size\":5},\"layers\":["
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:" D64 "\",\"size\":7},"
		"{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"sha256:" D64 "\",\"size\":8}]}";
	static const char *bad[] = {
		"not json",
		"[]",
		"{\"schemaVersion\":1}",
		"{\"schemaVersion\":2,\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" D64 "\",\"size\":-1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:XYZ\",\"size\":1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" D64 "\",\"size\":1},\"layers\":{}}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" D64 "\",\"size\":1},\"layers\":["
		"{\"mediaType\":\"application/x-unknown\",\"digest\":\"sha256:" D64 "\",\"size\":1}]}",
		"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" D64 "\",\"size\":1},\"layers\":["
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"size\":1}]}",
	};
	rv_image_desc cfg, *layers;
	size_t n, i;

	(void)state;
	assert_int_equal(rv_image_manifest_parse(&cfg, &layers, &n, good, strlen(good)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(cfg.size, 5);
	assert_int_equal(layers[1].size, 8);
	assert_string_equal(layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	free(layers);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = rv_image_manifest_parse(&cfg, &layers, &n, bad[i], strlen(bad[i]));
		if (rc == 0)
			fail_msg("accepted %s", bad[i]);
		assert_null(layers);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ref_parse),
		cmocka_unit_test(test_ref_reject),
		cmocka_unit_test(test_digest_check),
		cmocka_unit_test(test_pick_platform),
		cmocka_unit_test(test_manifest_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
