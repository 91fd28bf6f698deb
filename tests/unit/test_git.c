/* test_git.c - provenance through libgit2, on repositories made with the git CLI */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sources/git/agent.h"
#include "sources/git/git.h"
#include "util/error.h"
#include "util/banned.h"

static char top[256]; /* a temporary directory for the whole run */

/* Run a shell command in top; fail the test when it fails. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sh(const char *fmt, ...)
{
	char cmd[16384], full[17000];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && { %s ; } >/dev/null 2>&1", top, cmd);
	rc = system(full);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* The output of a command, first line, trailing newline removed. */
static void sh_out(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void sh_out(char *out, size_t len, const char *fmt, ...)
{
	char cmd[8192], full[9000];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && %s", top, cmd);
	p = popen(full, "r");
	assert_non_null(p);
	out[0] = '\0';
	if (!fgets(out, (int)len, p))
		out[0] = '\0';
	assert_int_equal(pclose(p), 0);
	out[strcspn(out, "\n")] = '\0';
	assert_true(out[0] != '\0');
}

/* A commit in repo dir at time t (seconds after a fixed epoch), message
 * from a file so any bytes go through. */
static void commit(const char *dir, int t, const char *msg)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/msg.txt", top);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(msg, f);
	fclose(f);
	sh("cd %s && GIT_AUTHOR_DATE='@%d +0000' GIT_COMMITTER_DATE='@%d +0000' "
		"git commit -q --allow-empty -F ../msg.txt", dir, 1700000000 + t,
		1700000000 + t);
}

static void head(char *out, size_t len, const char *dir, const char *rev)
{
	sh_out(out, len, "git -C %s rev-parse %s", dir, rev);
}

/* Describe rev in the local repository dir with default options (refs
 * allowed unless strict); returns the code, *out set on success. */
static int describe(rv_git_result **out, const char *dir, const char *rev, int strict)
{
	rv_git_options opts = { 0 };
	rv_git_repo *r = NULL;
	char path[512];
	int rc;

	opts.allow_refs = !strict;
	snprintf(path, sizeof(path), "%s/%s", top, dir);
	assert_int_equal(rv_git_new(&r, path, NULL), 0);
	rc = rv_git_describe(out, r, rev, &opts);
	rv_git_free(r);
	return rc;
}

static int has_file(const rv_git_commit *c, char status, const char *path)
{
	size_t i;

	for (i = 0; i < c->n_files; i++)
		if (c->files[i].status == status && !strcmp(c->files[i].path, path))
			return 1;
	return 0;
}

/* A repository "base": Dockerfile root commit, an app commit, a Dockerfile
 * change with an agent trailer, tags. */
static void make_base(void)
{
	static int made;

	if (made)
		return;
	made = 1;
	sh("git init -q -b main base && cd base && echo 'FROM debian' > Dockerfile && "
		"git add Dockerfile");
	commit("base", 1, "root: add Dockerfile\n");
	sh("cd base && echo 'int main;' > app.c && git add app.c");
	commit("base", 2, "app code\n\nCo-authored-by: Claude <noreply@anthropic.com>\n");
	sh("cd base && echo 'RUN true' >> Dockerfile && git add Dockerfile");
	commit("base", 3, "harden the image\n\nSome body text.\n\n"
		"Co-authored-by: Claude <noreply@anthropic.com>\n"
		"Signed-off-by: Alice <alice@example.com>\n");
	sh("cd base && git tag -a v1 -m 'release 1' && git tag light");
}

/* ---- agent rules and trailers -------------------------------------- */

static void test_agent_defaults(void **state)
{
	static const struct { const char *name, *email, *agent; } cases[] = {
		{ "Claude", "noreply@anthropic.com", "Claude" },
		{ "Someone", "noreply@anthropic.com", "Claude" },
		{ "claude[bot]", "", "Claude" },
		{ "Copilot", "198982749+Copilot@users.noreply.github.com", "GitHub Copilot" },
		{ "x", "198982749+copilot@users.noreply.github.com", "GitHub Copilot" },
		{ "Cursor Agent", "cursoragent@cursor.com", "Cursor" },
		{ "devin-ai-integration[bot]", "158243242+devin-ai-integration[bot]@users.noreply.github.com", "Devin" },
		{ "chatgpt-codex-connector[bot]", "", "OpenAI Codex" },
		{ "Codex", "codex@openai.com", "OpenAI Codex" },
		{ "gemini-code-assist[bot]", "", "Gemini" },
		{ "Gemini CLI", "", "Gemini" },
		{ "aider (openai/gpt-4o)", "noreply@aider.chat", "Aider" },
		{ "Paul (aider)", "paul@example.com", "Aider" },
		{ "Amazon Q Developer", "", "Amazon Q" },
		{ "amazon-q-developer[bot]", "", "Amazon Q" },
		/* people */
		{ "Devin Smith", "devin@example.com", NULL },
		{ "Ali Haider", "haider@example.com", NULL },
		{ "Claude Monet", "monet@example.com", NULL },
		{ "Alice", "alice@example.com", NULL },
		{ "", "", NULL },
	};
	rv_agent_rules rules;
	const char *a;
	size_t i;

	(void)state;
	assert_int_equal(rv_agent_rules_init(&rules, NULL, 0, 0), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = rv_agent_match(&rules, cases[i].name, cases[i].email);
		if (!cases[i].agent && a)
			fail_msg("'%s <%s>' matched %s", cases[i].name, cases[i].email, a);
		if (cases[i].agent && (!a || strcmp(a, cases[i].agent)))
			fail_msg("'%s <%s>' matched %s, not %s", cases[i].name,
				cases[i].email, a ? a : "nothing", cases[i].agent);
	}
	assert_null(rv_agent_match(&rules, NULL, NULL));
	rv_agent_rules_dispose(&rules);
	rv_agent_rules_dispose(&rules); /* idempotent */
}

static void test_agent_custom_rules(void **state)
{
	const char *pats[] = { "Acme Bot=*@bots.acme.io", "*builder*" };
	const char *bad1[] = { "=x" }, *bad2[] = { "x=" }, *bad3[] = { "" };
	rv_agent_rules rules;

	(void)state;
	assert_int_equal(rv_agent_rules_init(&rules, pats, 2, 1), 0);
	assert_int_equal(rules.n, 2);
	assert_string_equal(rv_agent_match(&rules, "x", "Deploy@BOTS.acme.io"), "Acme Bot");
	assert_string_equal(rv_agent_match(&rules, "The Image Builder", ""), "*builder*");
	assert_null(rv_agent_match(&rules, "Claude", "noreply@anthropic.com"));
	rv_agent_rules_dispose(&rules);
	assert_int_equal(rv_agent_rules_init(&rules, pats, 2, 0), 0);
	assert_string_equal(rv_agent_match(&rules, "Claude", ""), "Claude");
	assert_string_equal(rv_agent_match(&rules, "y", "a@bots.acme.io"), "Acme Bot");
	rv_agent_rules_dispose(&rules);
	assert_int_equal(rv_agent_rules_init(&rules, bad1, 1, 0), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "empty agent name"));
	assert_int_equal(rv_agent_rules_init(&rules, bad2, 1, 0), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "empty glob"));
	assert_int_equal(rv_agent_rules_init(&rules, bad3, 1, 0), RV_EINVAL);
	assert_int_equal(rules.n, 0);
}

static void test_trailers_case_and_spacing(void **state)
{
	static const char msg[] =
		"subject\n\nbody\n\n"
		"Co-authored-by: Claude <noreply@anthropic.com>\n"
		"co-AUTHORED-BY :   Bob Builder   <bob@example.com>  \n"
		"CO-AUTHORED-BY:Copilot <198982749+Copilot@users.noreply.github.com>\n"
		"Assisted-by: Gemini:gemini-2.5-pro\n"
		"Signed-off-by:\tAlice <alice@example.com>\n"
		"Reviewed-by: Carol <carol@example.com>\n";
	rv_agent_trailers t;
	rv_agent_rules rules;

	(void)state;
	assert_int_equal(rv_agent_rules_init(&rules, NULL, 0, 0), 0);
	assert_int_equal(rv_agent_trailers_parse(&t, msg, strlen(msg), &rules), 0);
	assert_int_equal(t.n, 5); /* Reviewed-by is not agent-relevant */
	assert_string_equal(t.v[0].kind, "co-authored-by");
	assert_string_equal(t.v[0].agent, "Claude");
	assert_string_equal(t.v[1].key, "co-AUTHORED-BY");
	assert_string_equal(t.v[1].kind, "co-authored-by");
	assert_string_equal(t.v[1].name, "Bob Builder");
	assert_string_equal(t.v[1].email, "bob@example.com");
	assert_null(t.v[1].agent);
	assert_string_equal(t.v[2].agent, "GitHub Copilot");
	assert_string_equal(t.v[3].kind, "assisted-by");
	assert_string_equal(t.v[3].name, "Gemini:gemini-2.5-pro");
	assert_string_equal(t.v[3].email, "");
	assert_null(t.v[3].agent); /* the glob "gemini" is the whole name */
	assert_string_equal(t.v[4].kind, "signed-off-by");
	assert_string_equal(t.v[4].name, "Alice");
	assert_int_equal(t.truncated, 0);
	assert_int_equal(t.message_truncated, 0);
	rv_agent_trailers_dispose(&t);
	/* a folded value: its inner white space becomes one space */
	assert_int_equal(rv_agent_trailers_parse(&t, "s\n\nCo-authored-by: Claude\n"
		"   Code  <noreply@anthropic.com>\n", 59, &rules), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.v[0].name, "Claude Code");
	assert_string_equal(t.v[0].email, "noreply@anthropic.com");
	assert_string_equal(t.v[0].agent, "Claude");
	rv_agent_trailers_dispose(&t);
	/* no blank line before them: a body line, not trailers */
	assert_int_equal(rv_agent_trailers_parse(&t, "s\nCo-authored-by: Claude <a@b>\n",
		30, &rules), 0);
	assert_int_equal(t.n, 0);
	rv_agent_trailers_dispose(&t);
	rv_agent_rules_dispose(&rules);
}

static void test_trailers_huge_block(void **state)
{
	size_t cap = 3u << 20, len = 0;
	char *msg = malloc(cap);
	rv_agent_trailers t;
	int i;

	(void)state;
	assert_non_null(msg);
	len += (size_t)snprintf(msg, cap, "subject\n\n");
	for (i = 0; len + 100 < cap; i++)
		len += (size_t)snprintf(msg + len, cap - len,
			"Co-authored-by: Person %d <p%d@example.com>\n", i, i);
	assert_true(len > RV_AGENT_MAX_MESSAGE);
	assert_int_equal(rv_agent_trailers_parse(&t, msg, len, NULL), 0);
	assert_int_equal(t.n, RV_AGENT_MAX_TRAILERS);
	assert_int_equal(t.truncated, 1);
	assert_int_equal(t.message_truncated, 1);
	rv_agent_trailers_dispose(&t);
	/* one enormous value is cut, not copied whole */
	len = (size_t)snprintf(msg, cap, "s\n\nCo-authored-by: ");
	memset(msg + len, 'x', 100000);
	len += 100000;
	len += (size_t)snprintf(msg + len, cap - len, " <a@b>\n");
	assert_int_equal(rv_agent_trailers_parse(&t, msg, len, NULL), 0);
	assert_int_equal(t.n, 1);
	assert_true(strlen(t.v[0].name) <= RV_AGENT_MAX_TEXT);
	rv_agent_trailers_dispose(&t);
	free(msg);
}

static void test_clean_text(void **state)
{
	char *s;

	(void)state;
	s = rv_agent_clean("a\x1b[31mb\xff\xc3\xa9", 10, 100);
	assert_string_equal(s, "a\xef\xbf\xbd[31mb\xef\xbf\xbd\xc3\xa9");
	free(s);
	/* cut at a character boundary */
	s = rv_agent_clean("ab\xc3\xa9", 4, 3);
	assert_string_equal(s, "ab");
	free(s);
	s = rv_agent_clean("", 0, 10);
	assert_string_equal(s, "");
	free(s);
}

/* ---- revisions -------------------------------------------------------- */

static void test_root_commit(void **state)
{
	rv_git_result *res = NULL;
	char root[64];

	(void)state;
	make_base();
	sh_out(root, sizeof(root), "git -C base rev-list --max-parents=0 HEAD");
	assert_int_equal(describe(&res, "base", root, 1), 0);
	assert_string_equal(res->commit.id, root);
	assert_int_equal(res->commit.parents, 0);
	assert_int_equal(res->commit.n_files, 1);
	assert_true(has_file(&res->commit, 'A', "Dockerfile"));
	assert_int_equal(res->lookback_scanned, 1);
	assert_int_equal(res->n_recent, 1);
	assert_int_equal(res->agent_touched_build, 0);
	assert_string_equal(res->commit.author.name, "Test Author");
	assert_int_equal(res->commit.author.time, 1700000001);
	rv_git_result_free(res);
}

static void test_full_and_abbreviated_sha(void **state)
{
	rv_git_result *res = NULL;
	char full[64], abbr[16];

	(void)state;
	make_base();
	head(full, sizeof(full), "base", "HEAD");
	assert_int_equal(describe(&res, "base", full, 1), 0);
	assert_string_equal(res->commit.id, full);
	assert_true(has_file(&res->commit, 'M', "Dockerfile"));
	assert_int_equal(res->commit.agent, 1);
	assert_int_equal(res->commit.trailers.n, 2);
	assert_string_equal(res->commit.trailers.v[0].agent, "Claude");
	assert_int_equal(res->agent_touched_build, 1);
	/* look-back: the app commit did not touch build files */
	assert_int_equal(res->lookback_scanned, 3);
	assert_int_equal(res->n_recent, 2);
	assert_string_equal(res->recent[0].id, full);
	assert_int_equal(res->recent[1].parents, 0);
	assert_string_equal(res->commit.summary, "harden the image");
	rv_git_result_free(res);
	snprintf(abbr, sizeof(abbr), "%.7s", full);
	assert_int_equal(describe(&res, "base", abbr, 1), 0);
	assert_string_equal(res->commit.id, full);
	assert_string_equal(res->revision, abbr);
	rv_git_result_free(res);
	/* upper case is the same sha */
	for (size_t i = 0; i < 7; i++)
		if (abbr[i] >= 'a')
			abbr[i] = (char)(abbr[i] - 'a' + 'A');
	assert_int_equal(describe(&res, "base", abbr, 1), 0);
	assert_string_equal(res->commit.id, full);
	rv_git_result_free(res);
}

static void test_unknown_and_not_a_sha(void **state)
{
	rv_git_result *res = NULL;

	(void)state;
	make_base();
	assert_int_equal(describe(&res, "base", "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef", 1),
		RV_ENOTFOUND);
	assert_null(res);
	assert_non_null(strstr(rv_error_last(), "unknown revision 'deadbeef"));
	assert_int_equal(describe(&res, "base", "v1.0", 1), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "not a commit sha"));
	assert_int_equal(describe(&res, "base", "main", 1), RV_EINVAL);
	assert_int_equal(describe(&res, "base", "abc", 1), RV_EINVAL);
	assert_int_equal(describe(&res, "base", "", 1), RV_EINVAL);
	assert_int_equal(describe(&res, "base", "abcd\x1b[31m", 0), RV_EINVAL);
	assert_null(strchr(rv_error_last(), '\x1b'));
	assert_int_equal(describe(&res, "base", "0123456789012345678901234567890123456789"
		"012345678901234567890123", 1), RV_EUNSUPPORTED);
	assert_int_equal(describe(&res, "base", "nosuchbranch", 0), RV_ENOTFOUND);
	assert_non_null(strstr(rv_error_last(), "no such sha, branch or tag"));
	/* a sha of a blob is not a commit */
	{
		char blob[64];

		sh_out(blob, sizeof(blob), "git -C base rev-parse HEAD:app.c");
		assert_int_equal(describe(&res, "base", blob, 1), RV_EINVAL);
		assert_non_null(strstr(rv_error_last(), "does not name a commit"));
	}
}

static void test_ambiguous_abbreviation(void **state)
{
	rv_git_result *res = NULL;
	char prefix[16];

	(void)state;
	/* 1500 commits in one fast-import: a 4-digit prefix repeats (all but
	 * certainly; the dates make the shas fixed) */
	sh("git init -q amb && cd amb && "
		"for i in $(seq 1 1500); do "
		"printf 'commit refs/heads/main\\ncommitter A <a@b> %%d +0000\\n"
		"data <<EOM\\nc%%d\\nEOM\\n\\n' $((1700000000 + i)) $i; done | "
		"git fast-import --quiet");
	sh_out(prefix, sizeof(prefix), "git -C amb rev-list --all | cut -c1-4 | sort | "
		"uniq -d | head -1");
	assert_int_equal(describe(&res, "amb", prefix, 1), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "is ambiguous"));
	assert_null(strstr(rv_error_last(), "unknown"));
}

static void test_annotated_tag(void **state)
{
	rv_git_result *res = NULL;
	char full[64], tagobj[64];

	(void)state;
	make_base();
	head(full, sizeof(full), "base", "HEAD");
	assert_int_equal(describe(&res, "base", "v1", 0), 0);
	assert_string_equal(res->commit.id, full);
	rv_git_result_free(res);
	assert_int_equal(describe(&res, "base", "light", 0), 0);
	assert_string_equal(res->commit.id, full);
	rv_git_result_free(res);
	/* the tag object's own sha peels too, even for a label */
	sh_out(tagobj, sizeof(tagobj), "git -C base rev-parse v1");
	assert_string_not_equal(tagobj, full);
	assert_int_equal(describe(&res, "base", tagobj, 1), 0);
	assert_string_equal(res->commit.id, full);
	rv_git_result_free(res);
	assert_int_equal(describe(&res, "base", "HEAD~1", 0), 0);
	assert_int_equal(res->commit.n_files, 0);
	rv_git_result_free(res);
}

/* ---- history shapes ---------------------------------------------------- */

static void test_several_coauthors(void **state)
{
	rv_git_result *res = NULL;
	const rv_git_commit *c;

	(void)state;
	sh("git init -q multi && cd multi && echo a > Containerfile && git add .");
	commit("multi", 1, "build: switch base\n\n"
		"Co-authored-by: Claude <noreply@anthropic.com>\n"
		"Co-authored-by: Copilot <198982749+Copilot@users.noreply.github.com>\n"
		"Co-authored-by: Bob <bob@example.com>\n"
		"Co-Authored-By: Cursor Agent <cursoragent@cursor.com>\n");
	assert_int_equal(describe(&res, "multi", "HEAD", 0), 0);
	c = &res->commit;
	assert_int_equal(c->trailers.n, 4);
	assert_string_equal(c->trailers.v[0].agent, "Claude");
	assert_string_equal(c->trailers.v[1].agent, "GitHub Copilot");
	assert_null(c->trailers.v[2].agent);
	assert_string_equal(c->trailers.v[3].agent, "Cursor");
	assert_true(has_file(c, 'A', "Containerfile"));
	assert_int_equal(res->agent_touched_build, 1);
	rv_git_result_free(res);
}

static void test_merge_commit(void **state)
{
	rv_git_result *res = NULL;
	char merge[64], side[64];

	(void)state;
	sh("git init -q -b main merge && cd merge && echo a > Dockerfile && "
		"echo x > README && git add .");
	commit("merge", 1, "root\n");
	sh("cd merge && git checkout -q -b agent && echo b >> Dockerfile && git add .");
	commit("merge", 2, "agent edits the Dockerfile\n\n"
		"Co-authored-by: Devin AI <158243242+devin-ai-integration[bot]@users.noreply.github.com>\n");
	head(side, sizeof(side), "merge", "HEAD");
	sh("cd merge && git checkout -q main && echo y >> README && git add .");
	commit("merge", 3, "docs\n");
	sh("cd merge && GIT_AUTHOR_DATE='@1700000004 +0000' "
		"GIT_COMMITTER_DATE='@1700000004 +0000' git merge -q --no-ff -m 'merge agent' agent");
	head(merge, sizeof(merge), "merge", "HEAD");
	assert_int_equal(describe(&res, "merge", merge, 1), 0);
	assert_int_equal(res->commit.parents, 2);
	assert_null(res->commit.author.agent);
	assert_int_equal(res->commit.agent, 0);
	/* against the first parent the merge brought the Dockerfile change */
	assert_true(has_file(&res->commit, 'M', "Dockerfile"));
	/* the full-history look-back finds the agent's own commit */
	assert_int_equal(res->lookback_scanned, 4);
	assert_int_equal(res->n_recent, 3); /* merge, agent commit, root */
	assert_string_equal(res->recent[1].id, side);
	assert_string_equal(res->recent[1].trailers.v[0].agent, "Devin");
	assert_int_equal(res->agent_touched_build, 1);
	rv_git_result_free(res);
	/* one commit later the merge itself is not listed: its Dockerfile is
	 * the agent branch's, so the change belongs to the branch commit */
	sh("cd merge && echo z >> README && git add .");
	commit("merge", 5, "more docs\n");
	assert_int_equal(describe(&res, "merge", "HEAD", 0), 0);
	assert_int_equal(res->n_recent, 2);
	assert_string_equal(res->recent[0].id, side);
	rv_git_result_free(res);
}

static void test_renamed_dockerfile(void **state)
{
	rv_git_result *res = NULL;

	(void)state;
	sh("git init -q ren && cd ren && mkdir -p charts/app && "
		"printf 'FROM debian\\nRUN apt-get update\\nRUN apt-get install -y curl\\n' "
		"> Dockerfile && echo v > charts/app/values.yaml && git add .");
	commit("ren", 1, "root\n");
	sh("cd ren && mkdir build && git mv Dockerfile build/Dockerfile && "
		"echo w > charts/app/values.yaml && git add . && "
		"echo '*.o' > .dockerignore && echo 'FROM x' > build/web.dockerfile && "
		"echo doc > Dockerfile.md && git add .");
	commit("ren", 2, "move the Dockerfile\n");
	assert_int_equal(describe(&res, "ren", "HEAD", 0), 0);
	assert_true(has_file(&res->commit, 'R', "build/Dockerfile"));
	assert_true(has_file(&res->commit, 'M', "charts/app/values.yaml"));
	assert_true(has_file(&res->commit, 'A', ".dockerignore"));
	assert_true(has_file(&res->commit, 'A', "build/web.dockerfile"));
	assert_int_equal(res->commit.n_files, 4); /* not Dockerfile.md */
	for (size_t i = 0; i < res->commit.n_files; i++)
		if (res->commit.files[i].status == 'R')
			assert_string_equal(res->commit.files[i].old_path, "Dockerfile");
	rv_git_result_free(res);
	/* configured globs replace the defaults */
	{
		const char *globs[] = { "*.md" };
		rv_git_options opts = { 0 };
		rv_git_repo *r = NULL;
		char path[512];

		opts.build_files = globs;
		opts.n_build_files = 1;
		opts.allow_refs = 1;
		snprintf(path, sizeof(path), "%s/ren", top);
		assert_int_equal(rv_git_new(&r, path, NULL), 0);
		assert_int_equal(rv_git_describe(&res, r, "HEAD", &opts), 0);
		assert_int_equal(res->commit.n_files, 1);
		assert_true(has_file(&res->commit, 'A', "Dockerfile.md"));
		rv_git_result_free(res);
		globs[0] = "[unclosed";
		assert_int_equal(rv_git_describe(&res, r, "HEAD", &opts), RV_EINVAL);
		rv_git_free(r);
	}
}

static void test_lookback_limit(void **state)
{
	rv_git_options opts = { 0 };
	rv_git_result *res = NULL;
	rv_git_repo *r = NULL;
	char path[512];
	int i;

	(void)state;
	sh("git init -q lb && cd lb && echo 0 > Dockerfile && git add .");
	commit("lb", 0, "root\n");
	for (i = 1; i <= 12; i++) {
		sh("cd lb && echo %d > %s && git add .", i, i % 3 ? "notes" : "Dockerfile");
		commit("lb", i, i == 6 ? "six\n\nAssisted-by: aider (anthropic/claude) <noreply@aider.chat>\n"
			: "change\n");
	}
	snprintf(path, sizeof(path), "%s/lb", top);
	assert_int_equal(rv_git_new(&r, path, NULL), 0);
	opts.allow_refs = 1;
	opts.lookback = 5; /* commits 12..8: only 12 and 9 touched the Dockerfile */
	assert_int_equal(rv_git_describe(&res, r, "HEAD", &opts), 0);
	assert_int_equal(res->lookback_limit, 5);
	assert_int_equal(res->lookback_scanned, 5);
	assert_int_equal(res->n_recent, 2);
	assert_int_equal(res->agent_touched_build, 0);
	rv_git_result_free(res);
	opts.lookback = 0; /* default 50: all 13, with the aider commit */
	assert_int_equal(rv_git_describe(&res, r, "HEAD", &opts), 0);
	assert_int_equal(res->lookback_limit, RV_GIT_DEFAULT_LOOKBACK);
	assert_int_equal(res->lookback_scanned, 13);
	assert_int_equal(res->n_recent, 5);
	assert_int_equal(res->agent_touched_build, 1);
	assert_string_equal(res->recent[2].trailers.v[0].agent, "Aider");
	assert_string_equal(res->recent[2].summary, "six");
	rv_git_result_free(res);
	opts.lookback = RV_GIT_MAX_LOOKBACK + 1;
	assert_int_equal(rv_git_describe(&res, r, "HEAD", &opts), RV_EINVAL);
	rv_git_free(r);
}

static void test_signed_commit(void **state)
{
	rv_git_result *res = NULL;

	(void)state;
	sh("ssh-keygen -q -t ed25519 -N '' -C test -f key && git init -q sig && cd sig && "
		"echo a > Dockerfile && git add . && git -c gpg.format=ssh "
		"-c user.signingkey=\"$PWD/../key.pub\" commit -q -S -m signed && "
		"echo b > Dockerfile && git add . && git commit -q -m unsigned");
	assert_int_equal(describe(&res, "sig", "HEAD~1", 0), 0);
	assert_int_equal(res->commit.is_signed, 1);
	assert_string_equal(res->commit.signature_kind, "ssh");
	assert_int_equal(res->n_recent, 1);
	rv_git_result_free(res);
	assert_int_equal(describe(&res, "sig", "HEAD", 0), 0);
	assert_int_equal(res->commit.is_signed, 0);
	assert_null(res->commit.signature_kind);
	assert_int_equal(res->recent[1].is_signed, 1);
	rv_git_result_free(res);
}

static void test_huge_trailer_commit(void **state)
{
	rv_git_result *res = NULL;

	(void)state;
	/* 2 MiB of trailers: read from the tail, capped */
	sh("git init -q huge && cd huge && echo a > Dockerfile && git add . && "
		"{ printf 'big\\n\\n'; seq 1 60000 | sed 's/.*/Co-authored-by: P& <p&@example.com>/'; "
		"echo 'Co-authored-by: Claude <noreply@anthropic.com>'; } > ../huge.txt && "
		"git commit -q -F ../huge.txt");
	assert_int_equal(describe(&res, "huge", "HEAD", 0), 0);
	assert_int_equal(res->commit.trailers.n, RV_AGENT_MAX_TRAILERS);
	assert_int_equal(res->commit.trailers.truncated, 1);
	assert_int_equal(res->commit.trailers.message_truncated, 1);
	/* the agent at the end is kept though the list is cut */
	assert_string_equal(res->commit.trailers.v[0].agent, "Claude");
	assert_int_equal(res->commit.agent, 1);
	rv_git_result_free(res);
	/* over 16 MiB: refused with a clear error as the revision, skipped in
	 * the look-back of a later commit */
	sh("cd huge && { printf 'bigger\\n\\n'; head -c 17000000 /dev/zero | tr '\\0' x; "
		"echo; } > ../huger.txt && git commit -q --allow-empty -F ../huger.txt && "
		"echo b > Dockerfile && git add . && git commit -q -m after");
	assert_int_equal(describe(&res, "huge", "HEAD~1", 0), RV_ETOOBIG);
	assert_non_null(strstr(rv_error_last(), "larger than 16 MiB"));
	{
		char big[64];

		head(big, sizeof(big), "huge", "HEAD~1");
		assert_int_equal(describe(&res, "huge", big, 1), RV_ETOOBIG);
		assert_non_null(strstr(rv_error_last(), "larger than 16 MiB"));
	}
	assert_int_equal(describe(&res, "huge", "HEAD", 0), 0);
	assert_non_null(res->commit.files_error);
	assert_string_equal(res->commit.files_error, "parent commit larger than 16 MiB");
	assert_int_equal(res->lookback_scanned, 2);
	assert_int_equal(res->lookback_skipped, 1);
	rv_git_result_free(res);
}

/* ---- repository access ------------------------------------------------- */

static void test_shallow_clone(void **state)
{
	rv_git_result *res = NULL;
	char old[64], tip[64], url[600];

	(void)state;
	make_base();
	head(old, sizeof(old), "base", "HEAD~2");
	head(tip, sizeof(tip), "base", "HEAD");
	snprintf(url, sizeof(url), "file://%s/base", top);
	sh("git clone -q --depth 2 %s shallow", url);
	assert_int_equal(describe(&res, "shallow", old, 1), RV_ENOTFOUND);
	assert_non_null(strstr(rv_error_last(), "not in shallow clone"));
	assert_int_equal(describe(&res, "shallow", tip, 1), 0);
	assert_true(has_file(&res->commit, 'M', "Dockerfile"));
	assert_int_equal(res->lookback_scanned, 2);
	assert_int_equal(res->lookback_shallow, 1);
	rv_git_result_free(res);
	/* the boundary commit's own change is unknown, not "everything added" */
	assert_int_equal(describe(&res, "shallow", "HEAD~1", 0), 0);
	assert_int_equal(res->commit.n_files, 0);
	assert_non_null(res->commit.files_error);
	assert_string_equal(res->commit.files_error, "parent not in shallow clone");
	rv_git_result_free(res);
}

static void test_foreign_owner(void **state)
{
	rv_git_repo_options ro = { 0 };
	rv_git_result *res = NULL;
	rv_git_repo *r = NULL;
	char path[512];

	(void)state;
	make_base();
	assert_int_equal(geteuid(), 0); /* chown needs root: the test machine is */
	sh("cp -a base foreign && chown -R 1234:1234 foreign");
	assert_int_equal(describe(&res, "foreign", "HEAD", 0), RV_EAUTH);
	assert_non_null(strstr(rv_error_last(), "owned by uid 1234"));
	assert_non_null(strstr(rv_error_last(), "allow-foreign-owner"));
	snprintf(path, sizeof(path), "%s/foreign", top);
	ro.allow_foreign_owner = 1;
	assert_int_equal(rv_git_new(&r, path, &ro), 0);
	assert_int_equal(rv_git_describe(&res, r, "HEAD", NULL), RV_EINVAL); /* not a sha */
	assert_int_equal(rv_git_describe(&res, r, "v1", &(rv_git_options){ .allow_refs = 1 }), 0);
	assert_int_equal(res->commit.n_files, 1);
	rv_git_result_free(res);
	rv_git_free(r);
	/* the option did not stay on for others */
	assert_int_equal(describe(&res, "foreign", "HEAD", 0), RV_EAUTH);
}

static void test_corrupt_repository(void **state)
{
	rv_git_result *res = NULL;
	char tip[64];

	(void)state;
	make_base();
	head(tip, sizeof(tip), "base", "HEAD");
	/* the commit's loose object overwritten with garbage */
	sh("cp -a base corrupt && f=corrupt/.git/objects/%.2s/%s && chmod u+w $f && "
		"echo garbage > $f", tip, tip + 2);
	assert_int_equal(describe(&res, "corrupt", tip, 1), RV_EFORMAT);
	assert_null(res);
	assert_non_null(strstr(rv_error_last(), tip));
	/* a broken HEAD and config: not a readable repository */
	sh("cp -a base corrupt2 && echo 'junk' > corrupt2/.git/HEAD && "
		"printf '[core\\n' > corrupt2/.git/config");
	assert_int_equal(describe(&res, "corrupt2", tip, 1), RV_EFORMAT);
	assert_non_null(strstr(rv_error_last(), "cannot open repository"));
	/* not a repository, and no such path */
	sh("mkdir -p plain/sub");
	assert_int_equal(describe(&res, "plain/sub", tip, 1), RV_EFORMAT);
	assert_int_equal(describe(&res, "nonexistent", tip, 1), RV_ENOTFOUND);
	assert_non_null(strstr(rv_error_last(), "not found"));
}

static void test_url_unreachable(void **state)
{
	rv_git_repo_options ro = { 0 };
	rv_git_result *res = NULL;
	rv_git_repo *r = NULL;
	char cache[512];

	(void)state;
	snprintf(cache, sizeof(cache), "%s/cache-bad", top);
	ro.cache_dir = cache;
	assert_int_equal(rv_git_new(&r, "file:///nonexistent/repo.git", &ro), 0);
	assert_int_equal(rv_git_describe(&res, r, "abcd", NULL), RV_ENET);
	assert_non_null(strstr(rv_error_last(), "cannot clone 'file:///nonexistent/repo.git'"));
	/* remembered: the second call fails the same way without retrying */
	assert_int_equal(rv_git_open(r), RV_ENET);
	assert_non_null(strstr(rv_error_last(), "cannot clone"));
	rv_git_free(r);
	/* no half clone left in the cache */
	sh("test -z \"$(ls -A cache-bad)\"");
	/* credentials in a URL never reach a message */
	assert_int_equal(rv_git_new(&r, "http://user:s3cret@127.0.0.1:1/x.git", &ro), 0);
	assert_int_equal(rv_git_name(r)[0], 'h');
	assert_null(strstr(rv_git_name(r), "s3cret"));
	assert_int_equal(rv_git_open(r), RV_ENET);
	assert_null(strstr(rv_error_last(), "s3cret"));
	rv_git_free(r);
}

/* A server that takes the connection and never answers: the clone ends at
 * the timeout instead of hanging. */
static void test_url_timeout(void **state)
{
	rv_git_repo_options ro = { 0 };
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	rv_git_result *res = NULL;
	rv_git_repo *r = NULL;
	char url[128];
	time_t start;
	int fd;

	(void)state;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0); /* the kernel accepts; nobody reads */
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof(url), "git://127.0.0.1:%u/x.git", ntohs(sa.sin_port));
	ro.fetch_timeout = 2;
	assert_int_equal(rv_git_new(&r, url, &ro), 0);
	start = time(NULL);
	assert_int_equal(rv_git_describe(&res, r, "abcd", NULL), RV_ETIMEOUT);
	assert_true(time(NULL) - start < 30);
	assert_non_null(strstr(rv_error_last(), "no answer in 2 s"));
	rv_git_free(r);
	close(fd);
}

static void test_url_clone_and_fetch(void **state)
{
	rv_git_repo_options ro = { 0 };
	rv_git_result *res = NULL;
	rv_git_repo *r = NULL;
	char cache[512], url[600], tip[64], newer[64];

	(void)state;
	sh("git init -q -b main origin && cd origin && echo a > Dockerfile && git add .");
	commit("origin", 1, "one\n\nCo-authored-by: Claude <noreply@anthropic.com>\n");
	head(tip, sizeof(tip), "origin", "HEAD");
	snprintf(cache, sizeof(cache), "%s/cache", top);
	snprintf(url, sizeof(url), "file://%s/origin", top);
	ro.cache_dir = cache;
	assert_int_equal(rv_git_new(&r, url, &ro), 0);
	assert_int_equal(rv_git_describe(&res, r, tip, NULL), 0);
	assert_int_equal(res->agent_touched_build, 1);
	rv_git_result_free(res);
	rv_git_free(r);
	sh("test $(ls cache | grep -c '\\.git$') = 1");
	/* a new commit upstream: the cached clone is fetched when it lacks it */
	sh("cd origin && echo b > Dockerfile && git add .");
	commit("origin", 2, "two\n");
	head(newer, sizeof(newer), "origin", "HEAD");
	assert_int_equal(rv_git_new(&r, url, &ro), 0);
	assert_int_equal(rv_git_describe(&res, r, newer, NULL), 0);
	assert_int_equal(res->n_recent, 2);
	rv_git_result_free(res);
	assert_int_equal(rv_git_describe(&res, r, "main", &(rv_git_options){ .allow_refs = 1 }), 0);
	assert_string_equal(res->commit.id, newer);
	rv_git_result_free(res);
	rv_git_free(r);
	/* without a cache directory: a temporary clone, removed by free */
	sh("mkdir -p tmpclones");
	{
		char old_tmp[600], tmpdir[600];
		const char *t = getenv("TMPDIR");

		snprintf(old_tmp, sizeof(old_tmp), "%s", t ? t : "");
		snprintf(tmpdir, sizeof(tmpdir), "%s/tmpclones", top);
		setenv("TMPDIR", tmpdir, 1);
		assert_int_equal(rv_git_new(&r, url, NULL), 0);
		assert_int_equal(rv_git_describe(&res, r, newer, NULL), 0);
		rv_git_result_free(res);
		sh("test -n \"$(ls -A tmpclones)\"");
		rv_git_free(r);
		sh("test -z \"$(ls -A tmpclones)\"");
		if (*old_tmp)
			setenv("TMPDIR", old_tmp, 1);
		else
			unsetenv("TMPDIR");
	}
}

static void test_describe_image(void **state)
{
	rv_git_repo *repos[2] = { NULL, NULL };
	rv_git_result *res = NULL;
	char path[512], tip[64];

	(void)state;
	make_base();
	head(tip, sizeof(tip), "base", "HEAD");
	sh("cp -a base imga && git -C imga remote add origin https://github.com/acme/a.git && "
		"cp -a base imgb && git -C imgb remote add origin git@github.com:Acme/B.git");
	snprintf(path, sizeof(path), "%s/imga", top);
	assert_int_equal(rv_git_new(&repos[0], path, NULL), 0);
	snprintf(path, sizeof(path), "%s/imgb", top);
	assert_int_equal(rv_git_new(&repos[1], path, NULL), 0);

	assert_int_equal(rv_git_describe_image(&res, repos, 2, NULL, NULL, NULL), 0);
	assert_int_equal(res->status, RV_GIT_NO_REVISION);
	assert_string_equal(res->message, "no revision label");
	rv_git_result_free(res);

	assert_int_equal(rv_git_describe_image(&res, repos, 2, tip,
		"https://github.com/acme/b", NULL), 0);
	assert_int_equal(res->status, RV_GIT_OK);
	assert_non_null(strstr(res->repository, "imgb"));
	assert_int_equal(res->agent_touched_build, 1);
	rv_git_result_free(res);

	assert_true(rv_git_source_matches(repos[0], "ssh://git@GitHub.com/acme/a/"));
	assert_false(rv_git_source_matches(repos[0], "https://github.com/acme/b"));

	assert_int_equal(rv_git_describe_image(&res, repos, 2, tip,
		"https://github.com/acme/c", NULL), 0);
	assert_int_equal(res->status, RV_GIT_FAILED);
	assert_non_null(strstr(res->message, "no configured repository matches"));
	rv_git_result_free(res);

	assert_int_equal(rv_git_describe_image(&res, repos, 2, tip, NULL, NULL), 0);
	assert_int_equal(res->status, RV_GIT_FAILED);
	rv_git_result_free(res);

	/* a bad label is this container's failure, not the run's */
	assert_int_equal(rv_git_describe_image(&res, repos, 1, "not-a-sha", NULL, NULL), 0);
	assert_int_equal(res->status, RV_GIT_FAILED);
	assert_int_equal(res->error, RV_EINVAL);
	assert_non_null(strstr(res->message, "not a commit sha"));
	rv_git_result_free(res);
	rv_git_free(repos[0]);
	rv_git_free(repos[1]);
	/* a URL repository is matched by its URL, without cloning it */
	assert_int_equal(rv_git_new(&repos[0], "https://user:pw@127.0.0.1:1/acme/app.git", NULL), 0);
	assert_true(rv_git_source_matches(repos[0], "https://127.0.0.1:1/Acme/App"));
	assert_false(rv_git_source_matches(repos[0], "https://127.0.0.1:1/acme/other"));
	rv_git_free(repos[0]);
}

static int group_setup(void **state)
{
	char path[512];

	(void)state;
	snprintf(top, sizeof(top), "%s/rv-test-git-XXXXXX",
		getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(top))
		return -1;
	/* a git of our own: no user or system config, fixed identity */
	snprintf(path, sizeof(path), "%s/home", top);
	mkdir(path, 0700);
	setenv("HOME", path, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Test Author", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test Committer", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
	setenv("GIT_CONFIG_COUNT", "2", 1);
	setenv("GIT_CONFIG_KEY_0", "init.defaultBranch", 1);
	setenv("GIT_CONFIG_VALUE_0", "main", 1);
	setenv("GIT_CONFIG_KEY_1", "safe.directory", 1);
	setenv("GIT_CONFIG_VALUE_1", "*", 1);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_defaults),
		cmocka_unit_test(test_agent_custom_rules),
		cmocka_unit_test(test_trailers_case_and_spacing),
		cmocka_unit_test(test_trailers_huge_block),
		cmocka_unit_test(test_clean_text),
		cmocka_unit_test(test_root_commit),
		cmocka_unit_test(test_full_and_abbreviated_sha),
		cmocka_unit_test(test_unknown_and_not_a_sha),
		cmocka_unit_test(test_ambiguous_abbreviation),
		cmocka_unit_test(test_annotated_tag),
		cmocka_unit_test(test_several_coauthors),
		cmocka_unit_test(test_merge_commit),
		cmocka_unit_test(test_renamed_dockerfile),
		cmocka_unit_test(test_lookback_limit),
		cmocka_unit_test(test_signed_commit),
		cmocka_unit_test(test_huge_trailer_commit),
		cmocka_unit_test(test_shallow_clone),
		cmocka_unit_test(test_foreign_owner),
		cmocka_unit_test(test_corrupt_repository),
		cmocka_unit_test(test_url_unreachable),
		cmocka_unit_test(test_url_timeout),
		cmocka_unit_test(test_url_clone_and_fetch),
		cmocka_unit_test(test_describe_image),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
