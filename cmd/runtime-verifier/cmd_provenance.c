/* cmd_provenance.c - runtime-verifier provenance: which agents touched the build at a revision */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "commands.h"
#include "pipeline/report.h"
#include "util/clock.h"
#include "sources/git/git.h"
#include "util/error.h"
#include "util/banned.h"

#define CMD "provenance"

static const char usage_text[] =
	"usage: runtime-verifier provenance --repo PATH|URL [options] REV\n"
	"\n"
	"Find the commit REV (a full or abbreviated sha, a tag or a branch), the\n"
	"build files it touched, and the coding agents among its author, committer\n"
	"and Co-authored-by / Assisted-by / Signed-off-by trailers; then the\n"
	"commits among the last N before it that touched build files.\n"
	"\n"
	"  --repo PATH|URL         a local repository, or a URL to clone (required)\n"
	"  --build-file GLOB       a build file (repeatable; replaces the defaults\n"
	"                          Dockerfile Containerfile *.dockerfile\n"
	"                          .dockerignore charts/**)\n"
	"  --lookback N            commits to scan, REV included (default 50, max 10000)\n"
	"  --agent-pattern [AGENT=]GLOB\n"
	"                          an agent rule, after the built-in ones (repeatable;\n"
	"                          case-insensitive glob on a name or an e-mail)\n"
	"  --no-default-agents     drop the built-in agent rules\n"
	"  --cache-dir DIR         keep clones of URLs in DIR (default: a temporary\n"
	"                          clone, removed at exit)\n"
	"  --token-file FILE       https: a token for the URL\n"
	"  --ssh-key FILE          ssh: a private key for the URL\n"
	"  --allow-foreign-owner   open a repository owned by another user\n"
	"  --format text|json      output (default text)\n"
	"  --help                  this text\n"
	"\n"
	"Signatures are reported as present or absent; they are not verified.\n"
	"Exit status: 0 done, 2 could not read the revision, 64 bad usage.\n";

enum { OPT_BUILD = 256, OPT_LOOKBACK, OPT_AGENT, OPT_NO_AGENTS, OPT_CACHE,
	OPT_TOKEN, OPT_SSH, OPT_FOREIGN, OPT_FORMAT, OPT_HELP, OPT_REPO };

static const struct option long_opts[] = {
	{ "repo", required_argument, NULL, OPT_REPO },
	{ "build-file", required_argument, NULL, OPT_BUILD },
	{ "lookback", required_argument, NULL, OPT_LOOKBACK },
	{ "agent-pattern", required_argument, NULL, OPT_AGENT },
	{ "no-default-agents", no_argument, NULL, OPT_NO_AGENTS },
	{ "cache-dir", required_argument, NULL, OPT_CACHE },
	{ "token-file", required_argument, NULL, OPT_TOKEN },
	{ "ssh-key", required_argument, NULL, OPT_SSH },
	{ "allow-foreign-owner", no_argument, NULL, OPT_FOREIGN },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

/* ---- JSON ---------------------------------------------------------------- */

static int print_json(const rv_git_result *res)
{
	json_t *root = rv_report_provenance(res);
	char *text = NULL;
	int rc = RV_EXIT_OK;

	if (root)
		json_object_set_new(root, "version", json_integer(1));
	if (!root || !(text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII))) {
		rv_error_set(RV_ENOMEM, "cannot format the result as JSON");
		rc = cli_fail(CMD);
	} else {
		puts(text);
	}
	free(text);
	json_decref(root);
	return rc;
}

/* ---- text --------------------------------------------------------------- */

static void print_ident(const char *label, const rv_git_ident *id)
{
	char t[RV_TIME_ISO_LEN];

	rv_clock_iso(t, id->time);
	printf("  %-10s %s <%s>, %s", label, id->name, id->email, t);
	if (id->agent)
		printf("  [agent: %s]", id->agent);
	putchar('\n');
}

static void print_files(const rv_git_commit *c, const char *indent)
{
	size_t i;

	if (c->files_error) {
		printf("%sunknown: %s\n", indent, c->files_error);
		return;
	}
	if (!c->n_files) {
		printf("%snone\n", indent);
		return;
	}
	for (i = 0; i < c->n_files; i++) {
		printf("%s%c %s", indent, c->files[i].status, c->files[i].path);
		if (c->files[i].old_path)
			printf(" (from %s)", c->files[i].old_path);
		putchar('\n');
	}
	if (c->files_truncated)
		printf("%s... more than %d\n", indent, RV_GIT_MAX_FILES);
}

/* "Claude, GitHub Copilot" for a commit, or "-". */
static void agent_list(char *out, size_t len, const rv_git_commit *c)
{
	const char *names[2 + RV_AGENT_MAX_TRAILERS];
	size_t i, used = 0, n = rv_git_commit_agents(names, sizeof(names) / sizeof(names[0]), c);

	out[0] = '\0';
	for (i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", names[i]);
	if (!out[0])
		snprintf(out, len, "-");
}

static void print_text(const rv_git_result *res)
{
	const rv_git_commit *c = &res->commit;
	char agents[512], t[64];
	size_t i, n_agent = 0;

	if (res->agent_touched_build) {
		fputs("agent touched the build: yes (", stdout);
		for (i = 0; i < res->n_recent; i++) {
			if (!res->recent[i].agent)
				continue;
			if (n_agent++ == 5) {
				fputs(", ...", stdout);
				break;
			}
			agent_list(agents, sizeof(agents), &res->recent[i]);
			printf("%s%s in %.12s", n_agent > 1 ? ", " : "", agents,
				res->recent[i].id);
		}
		fputs(")\n", stdout);
	} else {
		printf("agent touched the build: no (%zu commit%s touched build files, "
			"none with an agent)\n", res->n_recent, res->n_recent == 1 ? "" : "s");
	}
	printf("\ncommit %s (%s in %s)\n  %s\n", c->id, res->revision,
		res->repository, c->summary);
	print_ident("author", &c->author);
	print_ident("committer", &c->committer);
	for (i = 0; i < c->trailers.n; i++) {
		const rv_agent_trailer *tr = &c->trailers.v[i];

		printf("  %-10s %s: %s%s%s%s", "trailer", tr->key, tr->name,
			*tr->email ? " <" : "", tr->email, *tr->email ? ">" : "");
		if (tr->agent)
			printf("  [agent: %s]", tr->agent);
		putchar('\n');
	}
	if (c->trailers.truncated)
		printf("  %-10s ... more than %d\n", "trailer", RV_AGENT_MAX_TRAILERS);
	if (c->trailers.message_truncated)
		printf("  %-10s message over 1 MiB: only its end was read\n", "note");
	if (c->is_signed)
		printf("  %-10s %s signature present (not verified)\n", "signature",
			c->signature_kind);
	else
		printf("  %-10s none\n", "signature");
	printf("  build files%s:\n", c->parents > 1 ? " (against the first parent)" : "");
	print_files(c, "    ");

	printf("\nlook-back: %u commit%s scanned (full history, limit %u)%s\n",
		res->lookback_scanned, res->lookback_scanned == 1 ? "" : "s",
		res->lookback_limit,
		res->lookback_shallow ? ", stopped at the shallow clone's boundary" : "");
	if (res->lookback_skipped)
		printf("  %u commit%s over 16 MiB not read\n", res->lookback_skipped,
			res->lookback_skipped == 1 ? "" : "s");
	for (i = 0; i < res->n_recent; i++) {
		const rv_git_commit *r = &res->recent[i];

		agent_list(agents, sizeof(agents), r);
		rv_clock_iso(t, r->committer.time);
		t[10] = '\0';
		printf("  %.12s %s %-20s %s%s\n", r->id, t, agents, r->summary,
			r->is_signed ? "  (signed)" : "");
		print_files(r, "      ");
	}
}

/* ---- the command -------------------------------------------------------- */

static int parse_lookback(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > RV_GIT_MAX_LOOKBACK)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int cmd_provenance(int argc, char **argv)
{
	static const char *const formats[] = { "text", "json", NULL };
	rv_git_repo_options ropts = { 0 };
	rv_git_options opts = { 0 };
	cli_strv globs = { 0 }, agents = { 0 };
	rv_git_result *res = NULL;
	rv_git_repo *repo = NULL;
	const char *location = NULL;
	int c, format = 0, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_REPO:
			location = optarg;
			break;
		case OPT_BUILD:
			cli_strv_push(&globs, optarg);
			break;
		case OPT_LOOKBACK:
			if (parse_lookback(optarg, &opts.lookback) < 0) {
				rc = cli_usage_error(CMD, "--lookback wants 1 to %d, not '%s'",
					RV_GIT_MAX_LOOKBACK, optarg);
				goto cleanup;
			}
			break;
		case OPT_AGENT:
			cli_strv_push(&agents, optarg);
			break;
		case OPT_NO_AGENTS:
			opts.no_default_agents = 1;
			break;
		case OPT_CACHE:
			ropts.cache_dir = optarg;
			break;
		case OPT_TOKEN:
			ropts.token_file = optarg;
			break;
		case OPT_SSH:
			ropts.ssh_key_file = optarg;
			break;
		case OPT_FOREIGN:
			ropts.allow_foreign_owner = 1;
			break;
		case OPT_FORMAT:
			if ((rc = cli_parse_format(CMD, optarg, formats, &format)) != 0)
				goto cleanup;
			break;
		case 'h':
		case OPT_HELP:
			fputs(usage_text, stdout);
			rc = RV_EXIT_OK;
			goto cleanup;
		default:
			rc = cli_usage_error(CMD, "unknown option");
			goto cleanup;
		}
	}
	if (!location) {
		rc = cli_usage_error(CMD, "--repo is required");
		goto cleanup;
	}
	if (optind != argc - 1) {
		rc = cli_usage_error(CMD, optind == argc ? "a revision is required"
			: "one revision only");
		goto cleanup;
	}
	opts.build_files = globs.n ? globs.v : NULL;
	opts.n_build_files = globs.n;
	opts.agent_patterns = agents.v;
	opts.n_agent_patterns = agents.n;
	opts.allow_refs = 1;
	if (rv_git_new(&repo, location, &ropts) < 0 ||
	    rv_git_describe(&res, repo, argv[optind], &opts) < 0) {
		rc = cli_fail(CMD);
		goto cleanup;
	}
	if (format == 1) {
		rc = print_json(res);
	} else {
		print_text(res);
		rc = RV_EXIT_OK;
	}
	if (fflush(stdout) != 0) {
		rv_error_setsys(RV_EIO, errno, "cannot write the output");
		rc = cli_fail(CMD);
	}
cleanup:
	rv_git_result_free(res);
	rv_git_free(repo);
	cli_strv_dispose(&globs);
	cli_strv_dispose(&agents);
	return rc;
}
