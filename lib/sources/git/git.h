/* git.h - provenance: image revision -> commit -> build files touched, agents, look-back */
#ifndef RV_GIT_H
#define RV_GIT_H

#include <stddef.h>
#include <stdint.h>

#include "sources/git/agent.h"

/*
 * Reads a git repository with libgit2: a local path (a git-sync volume, a
 * clone) or a URL cloned once into a cache directory and fetched again when
 * a revision is missing. For a revision it reports the commit's author,
 * committer, agent trailers and whether it carries a signature (not
 * verified), the build files it touched against its first parent (a root
 * commit against the empty tree, renames detected), and the commits among
 * the last N before it that touched build files. docs/provenance.md has
 * the details and defaults.
 *
 * Threads: a rv_git_repo is used by one thread at a time; different repos
 * may be used in parallel.
 */

#define RV_GIT_DEFAULT_LOOKBACK 50
#define RV_GIT_MAX_LOOKBACK 10000
#define RV_GIT_MAX_FILES 256        /* build files listed per commit */
#define RV_GIT_MAX_SUMMARY 200      /* bytes of a commit's first line */
#define RV_GIT_MAX_BUILD_GLOBS 256
#define RV_GIT_MAX_TOKEN 16384      /* bytes of a token file */
#define RV_GIT_MAX_COMMIT (16u << 20) /* bytes of a commit object read */

/* The default build files (globs, lib/core/glob.h; a glob without a
 * leading '/' matches at any depth); NULL-terminated. */
extern const char *const rv_git_default_build_files[];

/* How to reach one repository. Strings are copied by rv_git_new. */
typedef struct rv_git_repo_options {
	const char *cache_dir;    /* URLs: clone into DIR/<hash>.git and keep it;
	                             NULL: a temporary clone rv_git_free removes */
	const char *token_file;   /* https: a token (basic auth, user from the URL
	                             or "x-access-token"); read at each fetch */
	const char *ssh_key_file; /* ssh: a private key without passphrase */
	int allow_foreign_owner;  /* open a local repository another uid owns
	                             (libgit2's owner check, off for this open) */
	uint64_t max_fetch_bytes; /* 0: 4 GiB */
	unsigned fetch_timeout;   /* seconds for one clone or fetch; 0: 600 */
} rv_git_repo_options;

/* What to report. Pointers are borrowed for the call. */
typedef struct rv_git_options {
	const char *const *build_files; /* globs; NULL: rv_git_default_build_files */
	size_t n_build_files;
	const char *const *agent_patterns; /* rules (sources/agent.h), after the built-in ones */
	size_t n_agent_patterns;
	int no_default_agents;   /* drop the built-in agent rules */
	unsigned lookback;       /* commits scanned, the revision included; 0: default */
	int allow_refs;          /* the revision may be a ref name (v1.0, main, HEAD);
	                            0: only a full or abbreviated sha (image labels) */
} rv_git_options;

typedef struct rv_git_repo rv_git_repo;

/* A build file a commit touched. */
typedef struct rv_git_file {
	char status;    /* 'A' added, 'M' modified, 'D' deleted, 'R' renamed,
	                   'C' copied, 'T' type changed */
	char *path;     /* cleaned for display (rv_agent_clean) */
	char *old_path; /* 'R' and 'C': the source path; else NULL */
} rv_git_file;

typedef struct rv_git_ident {
	char *name;
	char *email;
	int64_t time;   /* seconds since the epoch */
	int offset;     /* minutes east of UTC */
	char *agent;    /* the agent this identity matches, or NULL */
} rv_git_ident;

typedef struct rv_git_commit {
	char id[41];            /* full hex sha */
	char *summary;          /* first line of the message, cleaned, capped */
	unsigned parents;
	rv_git_ident author;
	rv_git_ident committer;
	rv_agent_trailers trailers; /* Co-authored-by, Assisted-by, Signed-off-by */
	int is_signed;          /* carries a gpgsig header; never verified */
	const char *signature_kind; /* static: "openpgp", "ssh", "x509",
	                               "unknown"; NULL when unsigned */
	rv_git_file *files;     /* build files touched */
	size_t n_files;
	int files_truncated;    /* more than RV_GIT_MAX_FILES */
	char *files_error;      /* when they could not be computed (parent
	                           outside a shallow clone); else NULL */
	int agent;              /* author, committer or a trailer is an agent */
} rv_git_commit;

typedef enum rv_git_status {
	RV_GIT_OK = 0,          /* the result below is filled in */
	RV_GIT_NO_REVISION,     /* the image has no revision label */
	RV_GIT_FAILED           /* error and message say why */
} rv_git_status;

/* Owned by the caller: rv_git_result_free. */
typedef struct rv_git_result {
	rv_git_status status;
	int error;              /* RV_FAILED: the RV_E* code */
	char *message;          /* RV_FAILED / RV_GIT_NO_REVISION: why */
	char *repository;       /* the repository, credentials removed */
	char *revision;         /* as asked, cleaned */
	rv_git_commit commit;   /* the revision's commit */
	unsigned lookback_limit;
	unsigned lookback_scanned;  /* commits read, the revision's included */
	unsigned lookback_skipped;  /* of those, commits over 16 MiB: not read,
	                               their parents not followed through them */
	int lookback_shallow;   /* the walk reached a shallow clone's boundary */
	rv_git_commit *recent;  /* the scanned commits that touched build files
	                           (newest first; the revision's own included) */
	size_t n_recent;
	int agent_touched_build; /* one of recent has an agent */
} rv_git_result;

/*
 * Describe a repository without touching it: location is a local path or a
 * URL (scheme://... or scp-like user@host:path); opts may be NULL. No I/O
 * happens until rv_git_open or the first rv_git_describe. RV_EINVAL for an
 * empty location; RV_ENOMEM. Free with rv_git_free.
 */
int rv_git_new(rv_git_repo **out, const char *location,
	const rv_git_repo_options *opts);

/* Close the repository, remove a temporary clone; NULL-safe. */
void rv_git_free(rv_git_repo *r);

/*
 * Open the repository: a local path is opened in place (never a parent
 * directory's repository); a URL is cloned into the cache (or opened
 * there). Done once: later calls return the first result again, with its
 * message. Clones and fetches run in a forked child that SIGALRM ends
 * after fetch_timeout (libgit2 1.5 has no network timeout); in a process
 * with other threads a lock held at fork can only make that child time
 * out, never hang the caller. Errors: RV_ENOTFOUND (no such path), RV_EAUTH (owned by another
 * uid and allow_foreign_owner unset; or credentials refused), RV_EFORMAT
 * (not a readable repository), RV_ENET (cannot clone), RV_ETOOBIG,
 * RV_ETIMEOUT.
 */
int rv_git_open(rv_git_repo *r);

/* The location as given, with any user:password@ removed. */
const char *rv_git_name(const rv_git_repo *r);

/* 1 when an image's org.opencontainers.image.source (a URL) names this
 * repository: its URL (no I/O), or for a local path its remote.origin.url
 * (the repository is opened), compared without scheme, user, ".git" and
 * trailing '/', ignoring case. 0 when not or when a local repository
 * cannot be opened. */
int rv_git_source_matches(rv_git_repo *r, const char *source);

/*
 * Resolve rev (a full or abbreviated sha of at least 4 hex digits; a tag
 * object's sha is peeled; with opts->allow_refs also a ref name) and
 * describe it. *out is set on success only; free it with rv_git_result_free.
 * Errors, each with its own message: RV_EINVAL (not a sha, ambiguous
 * abbreviation, not a commit, bad option), RV_ENOTFOUND (unknown
 * revision; "not in shallow clone" when the repository is shallow),
 * RV_EFORMAT (corrupt repository), and those of rv_git_open.
 */
int rv_git_describe(rv_git_result **out, rv_git_repo *r, const char *rev,
	const rv_git_options *opts);

/*
 * For verify, per container: pick the repository among n by the image's
 * source label (the only one when n is 1) and describe the revision label.
 * Never fails for a problem of the image or the repository: *out is always
 * set, with status RV_GIT_NO_REVISION (revision NULL or empty),
 * RV_GIT_FAILED (error and message: no repository matches, or
 * rv_git_describe failed) or RV_GIT_OK. Returns RV_ENOMEM only.
 */
int rv_git_describe_image(rv_git_result **out, rv_git_repo *const *repos,
	size_t n, const char *revision, const char *source,
	const rv_git_options *opts);

void rv_git_result_free(rv_git_result *res);

/* The distinct agents of a commit (author's, committer's, then its
 * trailers'), at most max, into out (borrowed from c). Returns how many. */
size_t rv_git_commit_agents(const char **out, size_t max, const rv_git_commit *c);

#endif
