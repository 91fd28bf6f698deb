/* agent.c - coding agents in commit identities and message trailers */
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>

#include "sources/git/agent.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

/*
 * The built-in rules. Bare first names that people also carry ("Devin")
 * or that hide in surnames ("aider" in "Haider") are matched only in the
 * forms the agents use, never as substrings.
 */
static const struct {
	const char *agent;
	const char *glob;
} builtin[] = {
	{ "Claude", "claude" },
	{ "Claude", "claude code" },
	{ "Claude", "claude[[]bot]" },
	{ "Claude", "*@anthropic.com" },
	{ "GitHub Copilot", "copilot" },
	{ "GitHub Copilot", "github copilot" },
	{ "GitHub Copilot", "copilot[[]bot]" },
	{ "GitHub Copilot", "*+copilot@users.noreply.github.com" },
	{ "GitHub Copilot", "copilot@github.com" },
	{ "Cursor", "cursor" },
	{ "Cursor", "cursor agent" },
	{ "Cursor", "cursor[[]bot]" },
	{ "Cursor", "*@cursor.com" },
	{ "Cursor", "*@cursor.sh" },
	{ "Devin", "devin-ai-integration[[]bot]" },
	{ "Devin", "devin ai" },
	{ "Devin", "*+devin-ai-integration[[]bot]@users.noreply.github.com" },
	{ "Devin", "*@cognition.ai" },
	{ "Devin", "*@cognition-labs.com" },
	{ "OpenAI Codex", "codex" },
	{ "OpenAI Codex", "openai codex" },
	{ "OpenAI Codex", "chatgpt-codex-connector[[]bot]" },
	{ "OpenAI Codex", "*+chatgpt-codex-connector[[]bot]@users.noreply.github.com" },
	{ "OpenAI Codex", "codex@openai.com" },
	{ "Gemini", "gemini" },
	{ "Gemini", "gemini cli" },
	{ "Gemini", "gemini code assist" },
	{ "Gemini", "gemini-code-assist[[]bot]" },
	{ "Gemini", "*+gemini-code-assist[[]bot]@users.noreply.github.com" },
	{ "Gemini", "google-labs-jules[[]bot]" },
	{ "Aider", "aider" },
	{ "Aider", "aider (*)" },
	{ "Aider", "* (aider)" },
	{ "Aider", "*@aider.chat" },
	{ "Amazon Q", "amazon q" },
	{ "Amazon Q", "amazon q developer" },
	{ "Amazon Q", "amazon-q-developer[[]bot]" },
	{ "Amazon Q", "*+amazon-q-developer[[]bot]@users.noreply.github.com" },
};

#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_init_once(void)
{
	git_libgit2_init();
}

void rv_agent_rules_dispose(rv_agent_rules *rules)
{
	size_t i;

	if (!rules)
		return;
	for (i = 0; i < rules->n; i++) {
		free(rules->v[i].agent);
		free(rules->v[i].glob);
	}
	free(rules->v);
	rules->v = NULL;
	rules->n = 0;
}

static int add_rule(rv_agent_rules *rules, const char *agent, size_t alen,
	const char *glob)
{
	rv_agent_rule *r = &rules->v[rules->n];

	r->agent = strndup(agent, alen);
	r->glob = strdup(glob);
	if (!r->agent || !r->glob) {
		free(r->agent);
		free(r->glob);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	rules->n++;
	return RV_OK;
}

int rv_agent_rules_init(rv_agent_rules *rules, const char *const *patterns,
	size_t n, int no_defaults)
{
	size_t i, total = (no_defaults ? 0 : NBUILTIN) + n;
	const char *p, *eq;
	int rc = RV_OK;

	rules->v = NULL;
	rules->n = 0;
	if (n > RV_AGENT_MAX_RULES || total > RV_AGENT_MAX_RULES)
		return rv_error_set(RV_ETOOBIG, "more than %d agent patterns",
			RV_AGENT_MAX_RULES);
	if (total == 0)
		return RV_OK;
	rules->v = calloc(total, sizeof(*rules->v));
	if (!rules->v)
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = 0; !no_defaults && i < NBUILTIN; i++)
		if ((rc = add_rule(rules, builtin[i].agent, strlen(builtin[i].agent),
				builtin[i].glob)) < 0)
			goto cleanup;
	for (i = 0; i < n; i++) {
		p = patterns[i];
		if (!p || !*p) {
			rc = rv_error_set(RV_EINVAL, "empty agent pattern");
			goto cleanup;
		}
		if (strlen(p) > RV_AGENT_MAX_PATTERN) {
			rc = rv_error_set(RV_EINVAL, "agent pattern '%.40s...' is longer than %d bytes",
				p, RV_AGENT_MAX_PATTERN);
			goto cleanup;
		}
		eq = strchr(p, '=');
		if (eq && (eq == p || !eq[1])) {
			rc = rv_error_set(RV_EINVAL, "agent pattern '%s' has an empty %s",
				p, eq == p ? "agent name" : "glob");
			goto cleanup;
		}
		rc = eq ? add_rule(rules, p, (size_t)(eq - p), eq + 1)
			: add_rule(rules, p, strlen(p), p);
		if (rc < 0)
			goto cleanup;
	}
cleanup:
	if (rc < 0)
		rv_agent_rules_dispose(rules);
	return rc;
}

static int glob_matches(const char *glob, const char *s)
{
	return s && *s && fnmatch(glob, s, FNM_CASEFOLD) == 0;
}

const char *rv_agent_match(const rv_agent_rules *rules, const char *name,
	const char *email)
{
	size_t i;

	if (!rules)
		return NULL;
	for (i = 0; i < rules->n; i++)
		if (glob_matches(rules->v[i].glob, name) ||
		    glob_matches(rules->v[i].glob, email))
			return rules->v[i].agent;
	return NULL;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

char *rv_agent_clean(const char *s, size_t len, size_t max)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *u = (const unsigned char *)s;
	rv_buf b = RV_BUF_INIT(max);
	size_t i = 0, n;
	char *out;

	while (i < len) {
		n = utf8_len(u + i, len - i);
		if (n == 1 && (u[i] < 0x20 || u[i] == 0x7f)) {
			if (rv_buf_add(&b, repl, 3) < 0)
				break;
		} else if (n == 0) {
			if (rv_buf_add(&b, repl, 3) < 0)
				break;
			n = 1;
		} else if (rv_buf_add(&b, s + i, n) < 0) {
			break; /* cut before a character that does not fit */
		}
		i += n;
	}
	out = rv_buf_detach(&b, NULL);
	rv_buf_dispose(&b);
	return out;
}

static const char *trailer_kind(const char *key)
{
	static const char *const kinds[] = {
		"co-authored-by", "assisted-by", "signed-off-by",
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcasecmp(key, kinds[i]) == 0)
			return kinds[i];
	return NULL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A cleaned copy of s[0, len) with leading and trailing white space
 * removed and each inner run of it (a folded trailer's newline too) made
 * one space. */
static char *squeeze(const char *s, size_t len)
{
	char *tmp, *out;
	size_t i, n = 0;
	int space = 0;

	if (len > RV_AGENT_MAX_TEXT * 4)
		len = RV_AGENT_MAX_TEXT * 4; /* more than can be kept anyway */
	if (!(tmp = malloc(len + 1)))
		return NULL;
	for (i = 0; i < len; i++) {
		if (is_space(s[i])) {
			space = n > 0;
			continue;
		}
		if (space)
			tmp[n++] = ' ';
		space = 0;
		tmp[n++] = s[i];
	}
	out = rv_agent_clean(tmp, n, RV_AGENT_MAX_TEXT);
	free(tmp);
	return out;
}

/* Split "Name <email>" into squeezed, cleaned copies. */
static int split_ident(char **name, char **email, const char *v)
{
	const char *lt = strchr(v, '<'), *gt = NULL;
	size_t nlen;

	if (lt)
		gt = strchr(lt + 1, '>');
	if (!lt || !gt)
		lt = gt = NULL;
	nlen = lt ? (size_t)(lt - v) : strlen(v);
	*name = squeeze(v, nlen);
	*email = lt ? squeeze(lt + 1, (size_t)(gt - lt - 1)) : strdup("");
	if (!*name || !*email)
		return rv_error_set(RV_ENOMEM, "out of memory");
	return RV_OK;
}

static void trailer_dispose(rv_agent_trailer *t)
{
	free(t->key);
	free(t->name);
	free(t->email);
	free(t->agent);
	memset(t, 0, sizeof(*t));
}

/* Fill t from one trailer; on failure t holds nothing. */
static int classify(rv_agent_trailer *t, const char *key, const char *value,
	const char *kind, const rv_agent_rules *rules)
{
	const char *agent;

	memset(t, 0, sizeof(*t));
	t->kind = kind;
	if (!(t->key = rv_agent_clean(key, strlen(key), RV_AGENT_MAX_TEXT)) ||
	    split_ident(&t->name, &t->email, value) < 0)
		goto fail;
	agent = rv_agent_match(rules, t->name, t->email);
	if (agent && !(t->agent = strdup(agent)))
		goto fail;
	return RV_OK;
fail:
	trailer_dispose(t);
	return rv_error_set(RV_ENOMEM, "out of memory");
}

void rv_agent_trailers_dispose(rv_agent_trailers *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		trailer_dispose(&t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

int rv_agent_trailers_parse(rv_agent_trailers *out, const char *msg, size_t len,
	const rv_agent_rules *rules)
{
	git_message_trailer_array arr = { 0 };
	const char *nul, *kind;
	rv_agent_trailer t;
	char *copy = NULL;
	size_t i, start = 0, total = 0;
	int rc = RV_OK, gerr, pass, first, last;

	memset(out, 0, sizeof(*out));
	pthread_once(&git_once, git_init_once);
	if ((nul = memchr(msg, '\0', len)))
		len = (size_t)(nul - msg);
	if (len > RV_AGENT_MAX_MESSAGE) {
		/* trailers close the message: read its tail from a line start */
		out->message_truncated = 1;
		start = len - RV_AGENT_MAX_MESSAGE;
		while (start < len && msg[start - 1] != '\n')
			start++;
	}
	/* the subject line is never a trailer: give the tail one */
	copy = malloc(len - start + 4);
	if (!copy) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (start) {
		memcpy(copy, "-\n\n", 3);
		memcpy(copy + 3, msg + start, len - start);
		copy[len - start + 3] = '\0';
	} else {
		memcpy(copy, msg, len);
		copy[len] = '\0';
	}
	if ((gerr = git_message_trailers(&arr, copy)) < 0) {
		const git_error *e = git_error_last();

		rc = rv_error_set(RV_ERROR, "cannot read the message trailers: %s",
			e && e->message ? e->message : "libgit2 error");
		goto cleanup;
	}
	/* with more than the cap, agent trailers are kept first */
	for (i = 0; i < arr.count; i++)
		if (trailer_kind(arr.trailers[i].key))
			total++;
	first = total > RV_AGENT_MAX_TRAILERS ? 0 : 2;
	last = total > RV_AGENT_MAX_TRAILERS ? 1 : 2;
	for (pass = first; pass <= last; pass++) {
		for (i = 0; i < arr.count; i++) {
			if (!(kind = trailer_kind(arr.trailers[i].key)))
				continue;
			if (out->n == RV_AGENT_MAX_TRAILERS) {
				out->truncated = 1;
				break;
			}
			if ((rc = classify(&t, arr.trailers[i].key, arr.trailers[i].value,
					kind, rules)) < 0)
				goto cleanup;
			if (pass == 2 || (pass == 0) == (t.agent != NULL)) {
				if (!out->v && !(out->v = calloc(RV_AGENT_MAX_TRAILERS,
						sizeof(*out->v)))) {
					trailer_dispose(&t);
					rc = rv_error_set(RV_ENOMEM, "out of memory");
					goto cleanup;
				}
				out->v[out->n++] = t;
			} else {
				trailer_dispose(&t);
			}
		}
	}
cleanup:
	git_message_trailer_array_free(&arr);
	free(copy);
	return rc;
}
