/* test_dockercfg.c - registry credentials from docker config.json, dockerconfigjson secrets, legacy .dockercfg */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sources/oci/dockercfg.h"
#include "util/error.h"

/* The password that the "auth" b64 of an entry for reg.example gives
 * (pass NULL: RV_EFORMAT). */
static void auth_is(const char *b64, const char *pass)
{
	char cfg[256], *u = NULL, *p = NULL;
	int n = snprintf(cfg, sizeof(cfg), "{\"auths\":{\"reg.example\":{\"auth\":\"%s\"}}}", b64);

	assert_true(n > 0 && (size_t)n < sizeof(cfg));
	if (!pass) {
		assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"),
			RV_EFORMAT);
		assert_null(strstr(rv_error_last(), b64));
		return;
	}
	if (rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg") < 0)
		fail_msg("%s: %s", b64, rv_error_last());
	assert_string_equal(u, "u");
	assert_string_equal(p, pass);
	free(u);
	free(p);
}

static void test_dockercfg(void **state)
{
	char *u, *p;
	const char *cfg;

	(void)state;
	/* "auth" is base64 of alice:pw:with:colons */
	cfg = "{\"auths\":{\"reg.example:5000\":{\"auth\":\"YWxpY2U6cHc6d2l0aDpjb2xvbnM=\"}}}";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example:5000", "cfg"), 0);
	assert_string_equal(u, "alice");
	assert_string_equal(p, "pw:with:colons");
	free(u);
	free(p);
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), 0);
	assert_null(u);
	assert_null(p);

	cfg = "{\"auths\":{\"https://index.docker.io/v1/\":{\"username\":\"bob\",\"password\":\"x\"}}}";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "registry-1.docker.io", "cfg"), 0);
	assert_string_equal(u, "bob");
	free(u);
	free(p);

	/* legacy .dockercfg: the map at the top */
	cfg = "{\"reg.example\":{\"auth\":\"Ym9iOnk=\"}}";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), 0);
	assert_string_equal(p, "y");
	free(u);
	free(p);

	cfg = "{\"credHelpers\":{\"reg.example\":\"gcr\"}}";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), RV_EUNSUPPORTED);
	cfg = "{\"auths\":{},\"credsStore\":\"desktop\"}";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), RV_EUNSUPPORTED);
	cfg = "{\"auths\":{\"reg.example\":{\"identitytoken\":\"t\"}}}";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), RV_EUNSUPPORTED);
	cfg = "{\"auths\":{\"reg.example\":{\"auth\":\"!!notbase64\"}}}";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), RV_EFORMAT);
	assert_null(strstr(rv_error_last(), "notbase64"));
	cfg = "{\"auths\":{\"reg.example\":{\"auth\":\"bm9jb2xvbg==\"}}}"; /* "nocolon" */
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), RV_EFORMAT);
	/* "auth" is standard base64 with padding, as docker writes it */
	auth_is("dTp+fn4=", "~~~");           /* "u:~~~" */
	auth_is("dTpwPj4/", "p>>?");          /* "u:p>>?" */
	auth_is("dTp-fn4=", NULL);            /* the same, URL-safe */
	auth_is("dTpwPj4_", NULL);
	auth_is("Ym9iOnk", NULL);             /* "bob:y" without its '=' */
	auth_is("Ym9iOnk=Zm9v", NULL);        /* text after the padding */
	cfg = "{\"auths\": [";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), RV_EFORMAT);
	cfg = "{\"auths\": 3}";
	assert_int_equal(rv_dockercfg_lookup(&u, &p, cfg, strlen(cfg), "reg.example", "cfg"), RV_EFORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dockercfg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
