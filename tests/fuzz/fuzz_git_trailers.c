/* fuzz_git_trailers.c - trailer reading, identity splitting, agent rules and text cleaning */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/git/agent.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 without control bytes, or abort. */
static void check_clean(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n, k;

	while (u[i]) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			abort();
		n = u[i] < 0x80 ? 1 : u[i] >= 0xf0 ? 4 : u[i] >= 0xe0 ? 3 : 2;
		if (u[i] >= 0x80 && u[i] < 0xc2)
			abort();
		for (k = 1; k < n; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				abort();
		i += n;
	}
}

/*
 * The input is a commit message: its agent trailers must come out capped,
 * cleaned and classified without a crash. The first line is also used as
 * an agent rule, matched against the rest split at the first '<'.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static rv_agent_rules defaults;
	static int init;
	rv_agent_rules rules;
	rv_agent_trailers t;
	const char *msg = (const char *)data, *nl;
	char *rule = NULL, *clean;
	size_t i;

	if (!init) {
		if (rv_agent_rules_init(&defaults, NULL, 0, 0) != 0)
			abort();
		init = 1;
	}
	if (rv_agent_trailers_parse(&t, msg, size, &defaults) == 0) {
		if (t.n > RV_AGENT_MAX_TRAILERS)
			abort();
		for (i = 0; i < t.n; i++) {
			check_clean(t.v[i].key);
			check_clean(t.v[i].name);
			check_clean(t.v[i].email);
			if (strlen(t.v[i].name) > RV_AGENT_MAX_TEXT ||
			    strlen(t.v[i].email) > RV_AGENT_MAX_TEXT)
				abort();
			if (t.v[i].agent && !rv_agent_match(&defaults, t.v[i].name, t.v[i].email))
				abort();
		}
	}
	rv_agent_trailers_dispose(&t);

	clean = rv_agent_clean(msg, size, 300);
	if (clean) {
		check_clean(clean);
		if (strlen(clean) > 300)
			abort();
		free(clean);
	}

	nl = memchr(msg, '\n', size);
	if (nl && (rule = strndup(msg, (size_t)(nl - msg)))) {
		const char *pats[1] = { rule };
		char *rest = strndup(nl + 1, size - (size_t)(nl - msg) - 1);

		if (rest && rv_agent_rules_init(&rules, pats, 1, 1) == 0) {
			char *lt = strchr(rest, '<');

			if (lt)
				*lt++ = '\0';
			(void)rv_agent_match(&rules, rest, lt);
			rv_agent_rules_dispose(&rules);
		}
		free(rest);
		free(rule);
	}
	return 0;
}
