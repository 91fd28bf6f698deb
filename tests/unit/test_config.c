/* test_config.c - verify's YAML configuration */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pipeline/config.h"
#include "util/error.h"

static char path[] = "/tmp/rv-test-config-XXXXXX";

static int load_text(rv_config *c, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rv_config_init(c), 0);
	return rv_config_load(c, path);
}

static void test_defaults(void **state)
{
	rv_config c;

	(void)state;
	assert_int_equal(rv_config_init(&c), 0);
	assert_int_equal(c.npaths, 1);
	assert_string_equal(c.paths[0], "/app");
	assert_int_equal(c.max_ephemeral, 20);
	assert_int_equal(c.probe_timeout_ms, 120000);
	rv_config_dispose(&c);
}

static void test_example_from_docs(void **state)
{
	const char *top = getenv("RV_TOP");
	char file[1024];
	rv_config c;
	const char **allow;
	size_t n;

	(void)state;
	snprintf(file, sizeof(file), "%s/docs/config.example.yaml", top ? top : ".");
	assert_int_equal(rv_config_init(&c), 0);
	if (rv_config_load(&c, file) < 0)
		fail_msg("%s", rv_error_last());
	assert_int_equal(c.nexcludes, 2);
	assert_int_equal(c.nallow, 2);
	assert_int_equal(c.nwebhooks, 1);
	assert_string_equal(c.webhooks[0].url, "https://security.example.com/drift");
	assert_int_equal(c.webhooks[0].timeout_ms, 10000);
	assert_int_equal(c.min_interval_ms, 3600000);
	assert_string_equal(c.probe_profile, "mirror");
	assert_string_equal(c.spool_dir, "/var/cache/runtime-verifier/spool");
	/* payments/payment-api gets both rules, another workload only the second */
	assert_int_equal(rv_config_allow_for(&allow, &n, &c, "payments", "payment-api"), 0);
	assert_int_equal(n, 2);
	free(allow);
	assert_int_equal(rv_config_allow_for(&allow, &n, &c, "payments", "other"), 0);
	assert_int_equal(n, 1);
	assert_string_equal(allow[0], "/app/**/__pycache__");
	free(allow);
	rv_config_dispose(&c);
}

static void test_errors_name_the_key(void **state)
{
	static const struct {
		const char *yaml;
		const char *msg;
	} cases[] = {
		{ "pahts: [/app]\n", "unknown key 'pahts'" },
		{ "paths: [app]\n", "'paths': path 'app' is not absolute" },
		{ "paths: []\n", "'paths' must list at least one path" },
		{ "probe: {maxEphemeralContainers: 0}\n", "'probe.maxEphemeralContainers' must be a whole number from 1 to 1000" },
		{ "probe: {profile: root}\n", "'probe.profile' must be 'mirror' or 'sysadmin'" },
		{ "timeouts: {probe: 5 minutes}\n", "'timeouts.probe': bad duration '5 minutes'" },
		{ "timeouts: {probes: 5m}\n", "unknown key 'timeouts.probes'" },
		{ "webhooks: [{url: ftp://x}]\n", "'webhooks[].url' must be an http(s) URL" },
		{ "webhooks: [{url: 'https://x', secret: abc}]\n", "unknown key 'webhooks[].secret'" },
		{ "allowlist: [{namespace: a}]\n", "'allowlist[].paths' is required" },
		{ "allowlist: [{paths: ['/a/[x']}]\n", "'allowlist[].paths'" },
		{ "- a\n- b\n", "must be a mapping" },
	};
	size_t i;
	rv_config c;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load_text(&c, cases[i].yaml) >= 0)
			fail_msg("case %zu loaded", i);
		if (!strstr(rv_error_last(), cases[i].msg))
			fail_msg("case %zu: got '%s', want '%s'", i, rv_error_last(), cases[i].msg);
		rv_config_dispose(&c);
	}
	assert_int_equal(rv_config_init(&c), 0);
	assert_int_equal(rv_config_load(&c, "/nonexistent.yaml"), RV_ENOTFOUND);
	rv_config_dispose(&c);
}

static void test_durations(void **state)
{
	long ms;

	(void)state;
	assert_int_equal(rv_config_duration(&ms, "90"), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(rv_config_duration(&ms, "1h30m"), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(rv_config_duration(&ms, "250ms"), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(rv_config_duration(&ms, "2s"), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(rv_config_duration(&ms, ""), RV_EINVAL);
	assert_int_equal(rv_config_duration(&ms, "-5s"), RV_EINVAL);
	assert_int_equal(rv_config_duration(&ms, "5d"), RV_EINVAL);
	assert_int_equal(rv_config_duration(&ms, "99999999999999999h"), RV_EINVAL);
}

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example_from_docs),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_durations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
