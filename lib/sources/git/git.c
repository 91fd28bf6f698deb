/* git.c - provenance: image revision -> commit -> build files touched, agents, look-back */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "core/glob.h"
#include "sources/git/agent.h"
#include "sources/git/git.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

#define MAX_COMMIT_BYTES RV_GIT_MAX_COMMIT
#define DEFAULT_FETCH_BYTES (4ull << 30)
#define DEFAULT_FETCH_TIMEOUT 600

const char *const rv_git_default_build_files[] = {
	"Dockerfile",
	"Containerfile",
	"*.dockerfile",
	".dockerignore",
	"charts/**",
	NULL
};

struct rv_git_repo {
	char *location;      /* as given (may hold credentials) */
	char *name;          /* for messages: credentials removed */
	char *userinfo;      /* "user:pass@" of a URL, scrubbed from messages */
	int is_url;
	char *cache_dir;
	char *token_file;
	char *ssh_key_file;
	int allow_foreign_owner;
	uint64_t max_fetch_bytes;
	unsigned fetch_timeout;

	int state;           /* 0 not tried, 1 open, <0 the open's error */
	char *open_error;    /* the open's message */
	git_repository *repo;
	char *tmp_dir;       /* a temporary clone's directory, removed by free */
	int fetched;         /* cloned or fetched by this handle */
	char *source;        /* normalized URL, for rv_git_source_matches */
};

/* libgit2 is initialised once; its owner-check option is global, so
 * changing it around an open is serialised. */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;

static void init_libgit2(void)
{
	git_libgit2_init();
}

/* git_repository_open_ext with libgit2's owner check on, or off when
 * allow_foreign: the option is process-wide, so every open takes the lock. */
static int open_repo(git_repository **out, const char *path, unsigned flags,
	int allow_foreign)
{
	int old = 1, gerr;

	pthread_mutex_lock(&owner_lock);
	if (allow_foreign) {
		git_libgit2_opts(GIT_OPT_GET_OWNER_VALIDATION, &old);
		git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
	}
	gerr = git_repository_open_ext(out, path, flags, NULL);
	if (allow_foreign)
		git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, old);
	pthread_mutex_unlock(&owner_lock);
	if (gerr < 0)
		*out = NULL;
	return gerr;
}

/* Set the last error to "<fmt>: <libgit2's message>" and return code.
 * This is where libgit2's errors enter lib/. */
static int git_fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int git_fail(int code, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char ctx[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (e && e->message && *e->message)
		rv_error_set(code, "%s: %s", ctx, e->message);
	else
		rv_error_set(code, "%s", ctx);
	git_error_clear();
	return code;
}

/* Remove r->userinfo from the current message, wherever libgit2 put it. */
static int scrub(const rv_git_repo *r, int code)
{
	rv_buf b = RV_BUF_INIT(4096);
	const char *m, *hit;
	size_t ul;

	if (!r->userinfo || !*r->userinfo)
		return code;
	m = rv_error_last();
	ul = strlen(r->userinfo);
	while ((hit = strstr(m, r->userinfo))) {
		rv_buf_add(&b, m, (size_t)(hit - m));
		m = hit + ul;
	}
	rv_buf_puts(&b, m);
	rv_error_set(code, "%s", b.ptr ? b.ptr : "");
	rv_buf_dispose(&b);
	return code;
}

static int oom(void)
{
	return rv_error_set(RV_ENOMEM, "out of memory");
}

/* ---- locations ---------------------------------------------------------- */

static int looks_like_url(const char *s)
{
	const char *colon = strchr(s, ':'), *slash = strchr(s, '/');
	struct stat st;

	if (strstr(s, "://"))
		return 1;
	/* scp-like user@host:path; an existing path wins */
	return colon && colon != s && (!slash || colon < slash) &&
		stat(s, &st) != 0;
}

/* Split scheme://user:pass@host/... into the name without the userinfo
 * and the userinfo with its '@'. */
static int split_userinfo(char **name, char **userinfo, const char *url)
{
	const char *p = strstr(url, "://"), *at, *end;

	*name = *userinfo = NULL;
	if (p) {
		p += 3;
		end = p + strcspn(p, "/");
		at = memchr(p, '@', (size_t)(end - p));
		if (at) {
			/* a user may be a token too: drop all of it */
			if (!(*userinfo = strndup(p, (size_t)(at - p + 1))))
				return oom();
			if (asprintf(name, "%.*s%s", (int)(p - url), url, at + 1) < 0) {
				*name = NULL;
				return oom();
			}
			return RV_OK;
		}
	}
	if (!(*name = strdup(url)))
		return oom();
	return RV_OK;
}

/* Lower-cased URL without scheme, user, trailing '/' and ".git"; scp-like
 * host:path becomes host/path. Allocated or NULL. */
static char *normalize_source(const char *url)
{
	const char *p = strstr(url, "://"), *at, *end;
	char *s, *c;
	size_t n;
	int scp = 0;

	if (p) {
		p += 3;
	} else {
		p = url;
		scp = strchr(url, ':') != NULL;
	}
	end = p + strcspn(p, scp ? ":" : "/");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (!(s = strdup(p)))
		return NULL;
	if (scp && (c = strchr(s, ':')))
		*c = '/';
	for (c = s; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	n = strlen(s);
	for (;;) {
		if (n && s[n - 1] == '/')
			n--;
		else if (n >= 4 && memcmp(s + n - 4, ".git", 4) == 0)
			n -= 4;
		else
			break;
	}
	s[n] = '\0';
	return s;
}

int rv_git_new(rv_git_repo **out, const char *location,
	const rv_git_repo_options *opts)
{
	rv_git_repo *r = NULL;
	int rc;

	*out = NULL;
	pthread_once(&init_once, init_libgit2);
	if (!location || !*location)
		return rv_error_set(RV_EINVAL, "empty repository location");
	if (!(r = calloc(1, sizeof(*r))))
		return oom();
	r->is_url = looks_like_url(location);
	if (!(r->location = strdup(location))) {
		rc = oom();
		goto cleanup;
	}
	if ((rc = split_userinfo(&r->name, &r->userinfo, location)) < 0)
		goto cleanup;
	if (opts) {
		if ((opts->cache_dir && !(r->cache_dir = strdup(opts->cache_dir))) ||
		    (opts->token_file && !(r->token_file = strdup(opts->token_file))) ||
		    (opts->ssh_key_file && !(r->ssh_key_file = strdup(opts->ssh_key_file)))) {
			rc = oom();
			goto cleanup;
		}
		r->allow_foreign_owner = opts->allow_foreign_owner;
		r->max_fetch_bytes = opts->max_fetch_bytes;
		r->fetch_timeout = opts->fetch_timeout;
	}
	if (!r->max_fetch_bytes)
		r->max_fetch_bytes = DEFAULT_FETCH_BYTES;
	if (!r->fetch_timeout)
		r->fetch_timeout = DEFAULT_FETCH_TIMEOUT;
	*out = r;
	r = NULL;
	rc = RV_OK;
cleanup:
	rv_git_free(r);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
	struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void rv_git_free(rv_git_repo *r)
{
	if (!r)
		return;
	git_repository_free(r->repo);
	if (r->tmp_dir)
		remove_tree(r->tmp_dir);
	free(r->tmp_dir);
	if (r->location)
		explicit_bzero(r->location, strlen(r->location));
	free(r->location);
	free(r->name);
	if (r->userinfo)
		explicit_bzero(r->userinfo, strlen(r->userinfo));
	free(r->userinfo);
	free(r->cache_dir);
	free(r->token_file);
	free(r->ssh_key_file);
	free(r->open_error);
	free(r->source);
	free(r);
}

const char *rv_git_name(const rv_git_repo *r)
{
	return r->name;
}

/* ---- fetching ----------------------------------------------------------- */

enum { WHY_NONE, WHY_TIMEOUT, WHY_TOOBIG, WHY_NOCRED, WHY_REFUSED, WHY_TOKEN };

struct fetch_ctx {
	rv_git_repo *r;
	time_t deadline;
	int attempts;
	int why;
	char token_error[256];
};

/* Read the token file: first line, trimmed; allocated, wipe after use. */
static int read_token(char **out, const char *path, char *err, size_t errlen)
{
	rv_buf b = RV_BUF_INIT(RV_GIT_MAX_TOKEN);
	char chunk[4096];
	ssize_t n;
	int fd, rc = RV_OK;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open token file '%s': %s", path, strerror(errno));
		return RV_EIO;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || rv_buf_add(&b, chunk, (size_t)n) < 0) {
			snprintf(err, errlen, "cannot read token file '%s'%s", path,
				n < 0 ? "" : ": longer than 16 KiB");
			rc = RV_EIO;
			goto cleanup;
		}
	}
	if (b.len) {
		b.len = strcspn(b.ptr, "\r\n");
		while (b.len && (b.ptr[b.len - 1] == ' ' || b.ptr[b.len - 1] == '\t'))
			b.len--;
		b.ptr[b.len] = '\0';
	}
	if (!b.len) {
		snprintf(err, errlen, "token file '%s' is empty", path);
		rc = RV_EINVAL;
		goto cleanup;
	}
	*out = rv_buf_detach(&b, NULL);
	if (!*out)
		rc = RV_ENOMEM;
cleanup:
	explicit_bzero(chunk, sizeof(chunk));
	if (b.ptr)
		explicit_bzero(b.ptr, b.cap);
	rv_buf_dispose(&b);
	close(fd);
	return rc;
}

static int cred_cb(git_credential **out, const char *url, const char *user,
	unsigned int allowed, void *payload)
{
	struct fetch_ctx *x = payload;
	char *token = NULL;
	int rc;

	(void)url;
	if (++x->attempts > 1) {
		/* the first credential was refused: do not loop */
		x->why = WHY_REFUSED;
		return GIT_EUSER;
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && x->r->ssh_key_file)
		return git_credential_ssh_key_new(out, user ? user : "git", NULL,
			x->r->ssh_key_file, NULL);
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && x->r->token_file) {
		if (read_token(&token, x->r->token_file, x->token_error,
				sizeof(x->token_error)) < 0) {
			x->why = WHY_TOKEN;
			return GIT_EUSER;
		}
		rc = git_credential_userpass_plaintext_new(out,
			user && *user ? user : "x-access-token", token);
		explicit_bzero(token, strlen(token));
		free(token);
		return rc;
	}
	x->why = WHY_NOCRED;
	return GIT_EUSER;
}

static int over_limits(struct fetch_ctx *x, uint64_t bytes)
{
	if (bytes > x->r->max_fetch_bytes) {
		x->why = WHY_TOOBIG;
		return -1;
	}
	if (time(NULL) > x->deadline) {
		x->why = WHY_TIMEOUT;
		return -1;
	}
	return 0;
}

static int transfer_cb(const git_indexer_progress *stats, void *payload)
{
	return over_limits(payload, stats->received_bytes);
}

static int sideband_cb(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	return over_limits(payload, 0);
}

static void fetch_callbacks(git_remote_callbacks *cb, struct fetch_ctx *x,
	rv_git_repo *r)
{
	memset(x, 0, sizeof(*x));
	x->r = r;
	x->deadline = time(NULL) + (time_t)r->fetch_timeout;
	cb->credentials = cred_cb;
	cb->transfer_progress = transfer_cb;
	cb->sideband_progress = sideband_cb;
	cb->payload = x;
}

/* The error of a failed clone or fetch, by what our callbacks saw. */
static int fetch_error(const rv_git_repo *r, const struct fetch_ctx *x,
	const char *what)
{
	int rc;

	switch (x->why) {
	case WHY_TIMEOUT:
		git_error_clear();
		rc = rv_error_set(RV_ETIMEOUT, "cannot %s '%s': not done in %u s",
			what, r->name, r->fetch_timeout);
		break;
	case WHY_TOOBIG:
		git_error_clear();
		rc = rv_error_set(RV_ETOOBIG, "cannot %s '%s': more than %llu bytes",
			what, r->name, (unsigned long long)r->max_fetch_bytes);
		break;
	case WHY_NOCRED:
		git_error_clear();
		rc = rv_error_set(RV_EAUTH, "cannot %s '%s': it asks for credentials "
			"and no token file or ssh key was given", what, r->name);
		break;
	case WHY_REFUSED:
		git_error_clear();
		rc = rv_error_set(RV_EAUTH, "cannot %s '%s': credentials refused",
			what, r->name);
		break;
	case WHY_TOKEN:
		git_error_clear();
		rc = rv_error_set(RV_EAUTH, "cannot %s '%s': %s", what, r->name,
			x->token_error);
		break;
	default:
		rc = git_fail(RV_ENET, "cannot %s '%s'", what, r->name);
		break;
	}
	return scrub(r, rc);
}

/*
 * Fetch every branch and tag into the same names: the commit behind an
 * image may be on any branch. Through an anonymous remote without url.*.
 * insteadOf rewriting: libgit2 1.5 leaks a pcre2 match block on each
 * config lookup by regex, which named remotes and insteadOf do.
 */
static int fetch_into(rv_git_repo *r, git_repository *repo, const char *what)
{
	static char *specs[] = {
		"+refs/heads/*:refs/heads/*",
		"+refs/tags/*:refs/tags/*",
	};
	git_strarray refspecs = { specs, 2 };
	git_remote_create_options ro;
	git_fetch_options fo;
	git_remote *remote = NULL;
	struct fetch_ctx x;
	int rc = RV_OK;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspec has them */
	fetch_callbacks(&fo.callbacks, &x, r);
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&remote, r->location, &ro) < 0)
		return scrub(r, git_fail(RV_EINVAL, "cannot %s '%s'", what, r->name));
	if (git_remote_fetch(remote, &refspecs, &fo, NULL) < 0)
		rc = fetch_error(r, &x, what);
	git_remote_free(remote);
	return rc;
}

/* Point an unborn HEAD of a fresh clone at main or master. */
static void set_head(git_repository *repo)
{
	static const char *const names[] = { "refs/heads/main", "refs/heads/master" };
	git_reference *ref = NULL;
	size_t i;

	if (git_repository_head_unborn(repo) != 1)
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (git_reference_lookup(&ref, repo, names[i]) == 0) {
			git_reference_free(ref);
			git_repository_set_head(repo, names[i]);
			break;
		}
	}
	git_error_clear();
}

/* The child's side: create (clone) or open the bare repository at path
 * and fetch into it. */
static int child_fetch(rv_git_repo *r, const char *what, const char *path, int create)
{
	git_repository *repo = NULL;
	int rc;

	if (create ? git_repository_init(&repo, path, 1) < 0
		: open_repo(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH |
			GIT_REPOSITORY_OPEN_BARE, 0) < 0)
		return git_fail(RV_EIO, "cannot %s '%s' into '%s'", what, r->name, path);
	rc = fetch_into(r, repo, what);
	if (rc == RV_OK && create)
		set_head(repo);
	git_repository_free(repo);
	return rc;
}

struct child_report {
	int code;
	char msg[1024];
};

/*
 * Clone or fetch in a child process that SIGALRM ends after fetch_timeout
 * seconds: libgit2 1.5 has no network timeouts, and a server that stops
 * answering must not hang a verify run. The child reports its result
 * through a pipe and leaves with _exit.
 */
static int in_child(rv_git_repo *r, const char *what, const char *path, int create)
{
	struct child_report rep;
	int fds[2] = { -1, -1 }, status = 0, rc;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return rv_error_setsys(RV_EIO, errno, "cannot %s '%s'", what, r->name);
	pid = fork();
	if (pid < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot %s '%s'", what, r->name);
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0) {
		close(fds[0]);
		signal(SIGALRM, SIG_DFL);
		alarm(r->fetch_timeout);
		memset(&rep, 0, sizeof(rep));
		rep.code = child_fetch(r, what, path, create);
		if (rep.code < 0)
			snprintf(rep.msg, sizeof(rep.msg), "%s", rv_error_last());
		_exit(write(fds[1], &rep, sizeof(rep)) == (ssize_t)sizeof(rep) ? 0 : 1);
	}
	close(fds[1]);
	while (got < sizeof(rep)) {
		n = read(fds[0], (char *)&rep + got, sizeof(rep) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got == sizeof(rep)) {
		rep.msg[sizeof(rep.msg) - 1] = '\0';
		if (rep.code < 0)
			return rv_error_set(rep.code, "%s", rep.msg);
		return RV_OK;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		return rv_error_set(RV_ETIMEOUT, "cannot %s '%s': no answer in %u s",
			what, r->name, r->fetch_timeout);
	return rv_error_set(RV_ENET, "cannot %s '%s': the fetching process ended "
		"without a result", what, r->name);
}

static int clone_into(rv_git_repo *r, const char *path)
{
	int rc;

	r->fetched = 1;
	if ((rc = in_child(r, "clone", path, 1)) < 0)
		return rc;
	if (open_repo(&r->repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH |
			GIT_REPOSITORY_OPEN_BARE, 0) < 0)
		return git_fail(RV_EFORMAT, "cannot open the clone of '%s'", r->name);
	return RV_OK;
}

/* Fetch into the open clone, then reopen it to see the new refs and packs. */
static int fetch(rv_git_repo *r)
{
	char *path = NULL;
	int rc;

	r->fetched = 1;
	if (!(path = strdup(git_repository_path(r->repo))))
		return oom();
	if ((rc = in_child(r, "fetch", path, 0)) < 0)
		goto cleanup;
	git_repository_free(r->repo);
	if (open_repo(&r->repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH |
			GIT_REPOSITORY_OPEN_BARE, 0) < 0) {
		rc = git_fail(RV_EFORMAT, "cannot open the clone of '%s'", r->name);
		/* the handle is unusable from now on: remember why */
		r->state = rc;
		free(r->open_error);
		r->open_error = strdup(rv_error_last());
		goto cleanup;
	}
	rc = RV_OK;
cleanup:
	free(path);
	return rc;
}

/* Open or create the clone of a URL. */
static int open_url(rv_git_repo *r)
{
	unsigned char digest[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX], *final = NULL, *tmp = NULL, *src = NULL;
	struct stat st;
	int rc;

	if (!r->cache_dir) {
		const char *t = getenv("TMPDIR");

		if (asprintf(&r->tmp_dir, "%s/rv-git-XXXXXX", t && *t ? t : "/tmp") < 0) {
			r->tmp_dir = NULL;
			return oom();
		}
		if (!mkdtemp(r->tmp_dir)) {
			rc = rv_error_setsys(RV_EIO, errno, "cannot create a directory for "
				"the clone of '%s'", r->name);
			free(r->tmp_dir);
			r->tmp_dir = NULL;
			return rc;
		}
		if (asprintf(&tmp, "%s/repo.git", r->tmp_dir) < 0)
			return oom();
		rc = clone_into(r, tmp);
		free(tmp);
		return rc;
	}
	/* the cache key: the URL without credentials */
	if (!(src = normalize_source(r->name)))
		return oom();
	if ((rc = rv_sha256_buf(digest, src, strlen(src))) < 0)
		goto cleanup;
	rv_sha256_to_hex(hex, digest);
	hex[16] = '\0';
	if (mkdir(r->cache_dir, 0700) < 0 && errno != EEXIST) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot create cache directory '%s'",
			r->cache_dir);
		goto cleanup;
	}
	if (asprintf(&final, "%s/%s.git", r->cache_dir, hex) < 0) {
		final = NULL;
		rc = oom();
		goto cleanup;
	}
	if (stat(final, &st) == 0) {
		if (open_repo(&r->repo, final,
				GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, 0) < 0) {
			rc = git_fail(RV_EFORMAT, "cannot open the cached clone '%s' of '%s'",
				final, r->name);
			goto cleanup;
		}
		rc = RV_OK;
		goto cleanup;
	}
	/* clone beside it and rename: a crash never leaves half a cache entry */
	if (asprintf(&tmp, "%s/%s.tmp-%ld", r->cache_dir, hex, (long)getpid()) < 0) {
		tmp = NULL;
		rc = oom();
		goto cleanup;
	}
	remove_tree(tmp);
	if ((rc = clone_into(r, tmp)) < 0) {
		remove_tree(tmp);
		goto cleanup;
	}
	git_repository_free(r->repo);
	r->repo = NULL;
	if (rename(tmp, final) < 0)
		remove_tree(tmp); /* another run won the race: use its clone */
	if (open_repo(&r->repo, final,
			GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE, 0) < 0) {
		rc = git_fail(RV_EFORMAT, "cannot open the cached clone '%s' of '%s'",
			final, r->name);
		goto cleanup;
	}
	rc = RV_OK;
cleanup:
	free(final);
	free(tmp);
	free(src);
	return rc < 0 ? scrub(r, rc) : rc;
}

/* The uid owning path or path/.git when it is not ours, else -1. */
static long foreign_owner(const char *path)
{
	struct stat st;
	char *dotgit = NULL;
	long uid = -1;

	if (stat(path, &st) == 0 && st.st_uid != geteuid())
		return (long)st.st_uid;
	if (asprintf(&dotgit, "%s/.git", path) >= 0) {
		if (stat(dotgit, &st) == 0 && st.st_uid != geteuid())
			uid = (long)st.st_uid;
		free(dotgit);
	}
	return uid;
}

static int open_local(rv_git_repo *r)
{
	struct stat st;
	int gerr;
	long uid;

	if (stat(r->location, &st) < 0) {
		if (errno == ENOENT)
			return rv_error_set(RV_ENOTFOUND, "repository '%s' not found",
				r->name);
		return rv_error_setsys(RV_EIO, errno, "cannot read repository '%s'",
			r->name);
	}
	gerr = open_repo(&r->repo, r->location, GIT_REPOSITORY_OPEN_NO_SEARCH,
		r->allow_foreign_owner);
	if (gerr == 0)
		return RV_OK;
	/* libgit2 1.5 words this "config value 'safe.directory' was not found" */
	if (!r->allow_foreign_owner && (uid = foreign_owner(r->location)) >= 0) {
		git_error_clear();
		return rv_error_set(RV_EAUTH, "repository '%s' is owned by uid %ld, "
			"not the current user (uid %ld): refused by libgit2's owner check "
			"(allow-foreign-owner, --allow-foreign-owner, trusts it)",
			r->name, uid, (long)geteuid());
	}
	return git_fail(RV_EFORMAT, "cannot open repository '%s'", r->name);
}

/* The URL an image's source label is compared with: a URL's own, a local
 * repository's remote.origin.url (read from the config directly; see
 * fetch_into), else its path. */
static int find_source(rv_git_repo *r)
{
	git_config *cfg = NULL;
	const char *url = NULL;

	if (!r->is_url && git_repository_config_snapshot(&cfg, r->repo) == 0 &&
	    git_config_get_string(&url, cfg, "remote.origin.url") == 0 && url)
		r->source = normalize_source(url);
	else
		r->source = normalize_source(r->name);
	git_config_free(cfg);
	git_error_clear();
	return r->source ? RV_OK : oom();
}

int rv_git_open(rv_git_repo *r)
{
	int rc;

	if (r->state == 1)
		return RV_OK;
	if (r->state < 0)
		return rv_error_set(r->state, "%s", r->open_error ? r->open_error : "");
	rc = r->is_url ? open_url(r) : open_local(r);
	if (rc == RV_OK)
		rc = find_source(r);
	if (rc < 0) {
		git_repository_free(r->repo);
		r->repo = NULL;
		if (rc != RV_ENOMEM) {
			/* remembered: a broken repository is not retried per container */
			r->state = rc;
			r->open_error = strdup(rv_error_last());
		}
		return rc;
	}
	r->state = 1;
	return RV_OK;
}

int rv_git_source_matches(rv_git_repo *r, const char *source)
{
	char *s = NULL, *mine = NULL;
	int match = 0;

	if (!source || !*source)
		return 0;
	/* a URL is its own identity: no clone just to compare */
	if (r->is_url)
		mine = normalize_source(r->name);
	else if (rv_git_open(r) == 0)
		mine = strdup(r->source);
	if (mine && (s = normalize_source(source)))
		match = strcmp(s, mine) == 0;
	free(s);
	free(mine);
	return match;
}

/* ---- revisions ---------------------------------------------------------- */

static int all_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return 0;
	return 1;
}

/* Look up a hex prefix and peel it to a commit, reading the object's
 * header first so that nothing over RV_GIT_MAX_COMMIT is loaded. RV_OK,
 * RV_ENOTFOUND (no message: the caller words it), or RV_EINVAL (ambiguous,
 * not a commit), RV_ETOOBIG, RV_EFORMAT with their messages. */
static int lookup_hex(git_object **out, rv_git_repo *r, const char *rev)
{
	git_object *obj = NULL;
	git_odb *odb = NULL;
	git_oid prefix, full;
	git_object_t type;
	size_t size;
	int gerr, rc;

	*out = NULL;
	if (git_oid_fromstrn(&prefix, rev, strlen(rev)) < 0) {
		rc = git_fail(RV_EINVAL, "revision '%s' is not a sha", rev);
		goto cleanup;
	}
	if (git_repository_odb(&odb, r->repo) < 0) {
		rc = git_fail(RV_EFORMAT, "cannot read objects of '%s'", r->name);
		goto cleanup;
	}
	gerr = git_odb_exists_prefix(&full, odb, &prefix, strlen(rev));
	if (gerr == GIT_ENOTFOUND) {
		git_error_clear();
		rc = RV_ENOTFOUND;
		goto cleanup;
	}
	if (gerr == GIT_EAMBIGUOUS) {
		git_error_clear();
		rc = rv_error_set(RV_EINVAL, "revision '%s' is ambiguous: more than "
			"one object starts with it (give more hex digits)", rev);
		goto cleanup;
	}
	if (gerr < 0 || git_odb_read_header(&size, &type, odb, &full) < 0) {
		rc = git_fail(RV_EFORMAT, "cannot read revision '%s' in '%s'", rev, r->name);
		goto cleanup;
	}
	if (size > MAX_COMMIT_BYTES) {
		rc = rv_error_set(RV_ETOOBIG, "commit '%s' is larger than %u MiB", rev,
			MAX_COMMIT_BYTES >> 20);
		goto cleanup;
	}
	if (git_object_lookup(&obj, r->repo, &full, GIT_OBJECT_ANY) < 0) {
		rc = git_fail(RV_EFORMAT, "cannot read revision '%s' in '%s'", rev, r->name);
		goto cleanup;
	}
	if (git_object_peel(out, obj, GIT_OBJECT_COMMIT) < 0) {
		*out = NULL;
		rc = git_fail(RV_EINVAL, "revision '%s' does not name a commit", rev);
		goto cleanup;
	}
	rc = RV_OK;
cleanup:
	git_object_free(obj);
	git_odb_free(odb);
	return rc;
}

/* The sha's object is missing: say so, shallow clones apart. */
static int unknown_rev(rv_git_repo *r, const char *rev)
{
	git_error_clear();
	if (git_repository_is_shallow(r->repo) == 1)
		return rv_error_set(RV_ENOTFOUND, "commit '%s' not in shallow clone '%s'",
			rev, r->name);
	return rv_error_set(RV_ENOTFOUND, "unknown revision '%s': no commit starts "
		"with it in '%s'", rev, r->name);
}

static int resolve(git_commit **out, rv_git_repo *r, const char *rev, int allow_refs)
{
	git_object *obj = NULL, *peeled = NULL;
	size_t len = strlen(rev);
	int gerr, rc;

	*out = NULL;
	if (!len)
		return rv_error_set(RV_EINVAL, "empty revision");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)rev[i] < 0x20 || rev[i] == 0x7f)
			return rv_error_set(RV_EINVAL, "revision holds control characters");
	if (len > 200)
		return rv_error_set(RV_EINVAL, "revision '%.40s...' is longer than 200 bytes",
			rev);
	if (all_hex(rev) && len >= 4 && len <= GIT_OID_HEXSZ) {
		rc = lookup_hex(&obj, r, rev);
		if (rc == RV_ENOTFOUND && r->is_url && !r->fetched) {
			/* the cache may predate the commit */
			if ((rc = fetch(r)) < 0)
				return rc;
			rc = lookup_hex(&obj, r, rev);
		}
		if (rc == RV_OK) {
			*out = (git_commit *)obj;
			return RV_OK;
		}
		if (rc != RV_ENOTFOUND)
			return rc;
		if (!allow_refs)
			return unknown_rev(r, rev);
		/* a branch or tag may be called "cafe" */
	} else if (!allow_refs) {
		if (all_hex(rev) && len == 64)
			return rv_error_set(RV_EUNSUPPORTED, "revision '%s' is a sha-256 "
				"object name: sha-256 repositories are not supported", rev);
		return rv_error_set(RV_EINVAL, "revision '%s' is not a commit sha "
			"(4 to 40 hex digits)", rev);
	}
	/* a ref name or an expression (v1.0, main, HEAD~2); refs move, so a
	 * cached clone is brought up to date first */
	if (r->is_url && !r->fetched && (rc = fetch(r)) < 0)
		return rc;
	gerr = git_revparse_single(&obj, r->repo, rev);
	if (gerr == GIT_ENOTFOUND || gerr == GIT_EINVALIDSPEC) {
		if (all_hex(rev) && len >= 4 && len <= GIT_OID_HEXSZ)
			return unknown_rev(r, rev);
		git_error_clear();
		return rv_error_set(RV_ENOTFOUND, "unknown revision '%s': no such sha, "
			"branch or tag in '%s'", rev, r->name);
	}
	if (gerr == GIT_EAMBIGUOUS) {
		git_error_clear();
		return rv_error_set(RV_EINVAL, "revision '%s' is ambiguous", rev);
	}
	if (gerr < 0)
		return git_fail(RV_EFORMAT, "cannot read revision '%s' in '%s'", rev, r->name);
	gerr = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (gerr < 0)
		return git_fail(RV_EINVAL, "revision '%s' does not name a commit", rev);
	*out = (git_commit *)peeled;
	return RV_OK;
}

/* ---- commits ------------------------------------------------------------ */

struct ctx {
	git_repository *repo;
	const char *name;
	const char *const *globs;
	size_t n_globs;
	rv_agent_rules rules;
	int shallow;
};

/* Look up a commit, refusing objects over MAX_COMMIT_BYTES before reading
 * them: RV_ENOTFOUND when it is missing (a shallow boundary), RV_ETOOBIG,
 * RV_EFORMAT. */
static int lookup_commit(git_commit **out, const struct ctx *x, const git_oid *id)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t size;
	int gerr;
	char hex[GIT_OID_HEXSZ + 1];

	*out = NULL;
	git_oid_tostr(hex, sizeof(hex), id);
	if (git_repository_odb(&odb, x->repo) < 0)
		return git_fail(RV_EFORMAT, "cannot read objects of '%s'", x->name);
	gerr = git_odb_read_header(&size, &type, odb, id);
	git_odb_free(odb);
	if (gerr == GIT_ENOTFOUND) {
		git_error_clear();
		return rv_error_set(RV_ENOTFOUND, "commit '%s' missing in '%s'", hex,
			x->name);
	}
	if (gerr < 0)
		return git_fail(RV_EFORMAT, "cannot read commit '%s' in '%s'", hex, x->name);
	if (size > MAX_COMMIT_BYTES)
		return rv_error_set(RV_ETOOBIG, "commit '%s' is larger than %u MiB",
			hex, MAX_COMMIT_BYTES >> 20);
	if (git_commit_lookup(out, x->repo, id) < 0) {
		*out = NULL;
		return git_fail(RV_EFORMAT, "cannot read commit '%s' in '%s'", hex, x->name);
	}
	return RV_OK;
}

static char status_char(git_delta_t s)
{
	switch (s) {
	case GIT_DELTA_ADDED: return 'A';
	case GIT_DELTA_DELETED: return 'D';
	case GIT_DELTA_RENAMED: return 'R';
	case GIT_DELTA_COPIED: return 'C';
	case GIT_DELTA_TYPECHANGE: return 'T';
	default: return 'M';
	}
}

/* 1 when the repository-relative path matches a build-file glob. */
static int is_build_file(const struct ctx *x, const char *path)
{
	rv_buf b = RV_BUF_INIT(1 << 16);
	int m = 0;

	if (path && rv_buf_putc(&b, '/') == 0 && rv_buf_puts(&b, path) == 0)
		m = rv_glob_match_any(x->globs, x->n_globs, b.ptr, b.len);
	rv_buf_dispose(&b);
	return m;
}

static void files_dispose(rv_git_file *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].old_path);
	}
	free(f);
}

/* The build files that differ between two trees (old may be NULL: the
 * empty tree), renames detected. */
static int diff_files(rv_git_commit *ci, const struct ctx *x, git_tree *old,
	git_tree *new)
{
	git_diff_options dopts;
	git_diff_find_options fopts;
	git_diff *diff = NULL;
	const git_diff_delta *d;
	rv_git_file *f;
	size_t i, n;
	int rc = RV_OK;

	git_diff_options_init(&dopts, GIT_DIFF_OPTIONS_VERSION);
	git_diff_find_options_init(&fopts, GIT_DIFF_FIND_OPTIONS_VERSION);
	dopts.flags = GIT_DIFF_SKIP_BINARY_CHECK;
	if (git_diff_tree_to_tree(&diff, x->repo, old, new, &dopts) < 0) {
		rc = git_fail(RV_EFORMAT, "cannot diff commit '%s'", ci->id);
		goto cleanup;
	}
	fopts.flags = GIT_DIFF_FIND_RENAMES;
	if (git_diff_find_similar(diff, &fopts) < 0) {
		rc = git_fail(RV_EFORMAT, "cannot find renames in commit '%s'", ci->id);
		goto cleanup;
	}
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n; i++) {
		d = git_diff_get_delta(diff, i);
		if (!is_build_file(x, d->new_file.path) && !is_build_file(x, d->old_file.path))
			continue;
		if (ci->n_files == RV_GIT_MAX_FILES) {
			ci->files_truncated = 1;
			break;
		}
		if (!ci->files && !(ci->files = calloc(RV_GIT_MAX_FILES, sizeof(*ci->files)))) {
			rc = oom();
			goto cleanup;
		}
		f = &ci->files[ci->n_files++];
		f->status = status_char(d->status);
		f->path = rv_agent_clean(d->new_file.path, strlen(d->new_file.path), 4096);
		if (!f->path) {
			rc = oom();
			goto cleanup;
		}
		if ((f->status == 'R' || f->status == 'C') &&
		    !(f->old_path = rv_agent_clean(d->old_file.path,
				strlen(d->old_file.path), 4096))) {
			rc = oom();
			goto cleanup;
		}
	}
cleanup:
	git_diff_free(diff);
	return rc;
}

/* Keep only the files of ci that other also lists (by path). */
static void intersect_files(rv_git_commit *ci, const rv_git_commit *other)
{
	size_t i, j, k = 0;
	int keep;

	for (i = 0; i < ci->n_files; i++) {
		keep = 0;
		for (j = 0; j < other->n_files && !keep; j++)
			keep = strcmp(ci->files[i].path, other->files[j].path) == 0;
		if (keep) {
			ci->files[k++] = ci->files[i];
		} else {
			free(ci->files[i].path);
			free(ci->files[i].old_path);
		}
	}
	ci->n_files = k;
}

/* Build files of c: against the first parent (first_parent), or for a
 * merge in the look-back only those that differ from every parent (a
 * branch's own commits are listed on their own). */
static int commit_files(rv_git_commit *ci, const struct ctx *x, git_commit *c,
	int first_parent)
{
	git_tree *tree = NULL, *ptree = NULL;
	git_commit *parent = NULL;
	rv_git_commit other;
	unsigned i, n = git_commit_parentcount(c);
	int rc = RV_OK, gerr;

	memset(&other, 0, sizeof(other));
	memcpy(other.id, ci->id, sizeof(other.id));
	if (git_commit_tree(&tree, c) < 0) {
		rc = git_fail(RV_EFORMAT, "cannot read the tree of commit '%s'", ci->id);
		goto cleanup;
	}
	if (n == 0) {
		rc = diff_files(ci, x, NULL, tree);
		goto cleanup;
	}
	for (i = 0; i < (first_parent ? 1 : n); i++) {
		gerr = lookup_commit(&parent, x, git_commit_parent_id(c, i));
		if (gerr == RV_ENOTFOUND) {
			rv_error_clear();
			if (!x->shallow) {
				rc = rv_error_set(RV_EFORMAT, "parent of commit '%s' is missing "
					"in '%s'", ci->id, x->name);
				goto cleanup;
			}
			/* shallow boundary: what changed is unknown */
			files_dispose(ci->files, ci->n_files);
			ci->files = NULL;
			ci->n_files = 0;
			ci->files_truncated = 0;
			if (!(ci->files_error = strdup("parent not in shallow clone")))
				rc = oom();
			goto cleanup;
		}
		if (gerr == RV_ETOOBIG) {
			rv_error_clear();
			files_dispose(ci->files, ci->n_files);
			ci->files = NULL;
			ci->n_files = 0;
			ci->files_truncated = 0;
			if (!(ci->files_error = strdup("parent commit larger than 16 MiB")))
				rc = oom();
			goto cleanup;
		}
		if ((rc = gerr) < 0)
			goto cleanup;
		if (git_commit_tree(&ptree, parent) < 0) {
			rc = git_fail(RV_EFORMAT, "cannot read the tree of commit '%s'", ci->id);
			goto cleanup;
		}
		if (i == 0) {
			rc = diff_files(ci, x, ptree, tree);
		} else {
			rc = diff_files(&other, x, ptree, tree);
			intersect_files(ci, &other);
			files_dispose(other.files, other.n_files);
			other.files = NULL;
			other.n_files = 0;
		}
		git_tree_free(ptree);
		ptree = NULL;
		git_commit_free(parent);
		parent = NULL;
		if (rc < 0 || ci->n_files == 0)
			goto cleanup;
	}
cleanup:
	files_dispose(other.files, other.n_files);
	git_tree_free(ptree);
	git_tree_free(tree);
	git_commit_free(parent);
	return rc;
}

static int fill_ident(rv_git_ident *id, const git_signature *sig,
	const rv_agent_rules *rules)
{
	const char *agent;

	id->name = rv_agent_clean(sig->name, strlen(sig->name), RV_AGENT_MAX_TEXT);
	id->email = rv_agent_clean(sig->email, strlen(sig->email), RV_AGENT_MAX_TEXT);
	if (!id->name || !id->email)
		return oom();
	id->time = (int64_t)sig->when.time;
	id->offset = sig->when.offset;
	agent = rv_agent_match(rules, id->name, id->email);
	if (agent && !(id->agent = strdup(agent)))
		return oom();
	return RV_OK;
}

static const char *signature_kind(const char *sig)
{
	while (*sig == ' ' || *sig == '\n')
		sig++;
	if (!strncmp(sig, "-----BEGIN PGP SIGNATURE-----", 29))
		return "openpgp";
	if (!strncmp(sig, "-----BEGIN SSH SIGNATURE-----", 29))
		return "ssh";
	if (!strncmp(sig, "-----BEGIN SIGNED MESSAGE-----", 30))
		return "x509";
	return "unknown";
}

static void commit_dispose(rv_git_commit *ci)
{
	free(ci->summary);
	free(ci->author.name);
	free(ci->author.email);
	free(ci->author.agent);
	free(ci->committer.name);
	free(ci->committer.email);
	free(ci->committer.agent);
	rv_agent_trailers_dispose(&ci->trailers);
	files_dispose(ci->files, ci->n_files);
	free(ci->files_error);
	memset(ci, 0, sizeof(*ci));
}

/* Everything but the files. */
static int commit_details(rv_git_commit *ci, const struct ctx *x, git_commit *c)
{
	git_buf sig = { 0 }, data = { 0 };
	const char *msg = git_commit_message(c);
	size_t i;
	int rc, gerr;

	ci->parents = git_commit_parentcount(c);
	if (!msg)
		msg = "";
	ci->summary = rv_agent_clean(msg, strcspn(msg, "\n"), RV_GIT_MAX_SUMMARY);
	if (!ci->summary)
		return oom();
	if ((rc = fill_ident(&ci->author, git_commit_author(c), &x->rules)) < 0 ||
	    (rc = fill_ident(&ci->committer, git_commit_committer(c), &x->rules)) < 0)
		return rc;
	if ((rc = rv_agent_trailers_parse(&ci->trailers, msg, strlen(msg), &x->rules)) < 0)
		return rc;
	gerr = git_commit_extract_signature(&sig, &data, x->repo,
		(git_oid *)git_commit_id(c), NULL);
	if (gerr == 0) {
		ci->is_signed = 1;
		ci->signature_kind = signature_kind(sig.ptr ? sig.ptr : "");
	} else if (gerr != GIT_ENOTFOUND) {
		rc = git_fail(RV_EFORMAT, "cannot read the signature of commit '%s'", ci->id);
	}
	git_error_clear();
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	if (rc < 0)
		return rc;
	ci->agent = ci->author.agent || ci->committer.agent;
	for (i = 0; i < ci->trailers.n; i++)
		if (ci->trailers.v[i].agent)
			ci->agent = 1;
	return RV_OK;
}

/* ---- the look-back walk ------------------------------------------------- */

struct qent {
	git_oid id;
	int64_t time;
};

struct walk {
	struct qent *heap;   /* max-heap by committer time */
	size_t n, cap;
	git_oid *seen;       /* open addressing; all-zero slot is empty */
	size_t nseen, seencap;
};

static size_t oid_hash(const git_oid *id)
{
	size_t h;

	memcpy(&h, id->id, sizeof(h));
	return h;
}

static int oid_zero(const git_oid *id)
{
	static const git_oid z;

	return memcmp(id, &z, sizeof(z)) == 0;
}

/* Insert id; 1 if it was new, 0 if seen, negative on error. */
static int seen_add(struct walk *w, const git_oid *id)
{
	size_t i, mask;

	if ((w->nseen + 1) * 2 > w->seencap) {
		size_t ncap = w->seencap ? w->seencap * 2 : 256, j;
		git_oid *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return oom();
		for (j = 0; j < w->seencap; j++) {
			if (oid_zero(&w->seen[j]))
				continue;
			for (i = oid_hash(&w->seen[j]) & (ncap - 1); !oid_zero(&ns[i]);
			     i = (i + 1) & (ncap - 1))
				;
			ns[i] = w->seen[j];
		}
		free(w->seen);
		w->seen = ns;
		w->seencap = ncap;
	}
	mask = w->seencap - 1;
	for (i = oid_hash(id) & mask; !oid_zero(&w->seen[i]); i = (i + 1) & mask)
		if (git_oid_equal(&w->seen[i], id))
			return 0;
	w->seen[i] = *id;
	w->nseen++;
	return 1;
}

static int heap_push(struct walk *w, const git_oid *id, int64_t t)
{
	size_t i, p;
	struct qent e;

	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		struct qent *nh = realloc(w->heap, ncap * sizeof(*nh));

		if (!nh)
			return oom();
		w->heap = nh;
		w->cap = ncap;
	}
	e.id = *id;
	e.time = t;
	for (i = w->n++; i > 0 && w->heap[p = (i - 1) / 2].time < t; i = p)
		w->heap[i] = w->heap[p];
	w->heap[i] = e;
	return RV_OK;
}

static struct qent heap_pop(struct walk *w)
{
	struct qent top = w->heap[0], last = w->heap[--w->n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < w->n) {
		if (c + 1 < w->n && w->heap[c + 1].time > w->heap[c].time)
			c++;
		if (w->heap[c].time <= last.time)
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->n)
		w->heap[i] = last;
	return top;
}

/* Walk the full history from start, newest committer time first, for at
 * most res->lookback_limit commits; list those that touched build files. */
static int lookback(rv_git_result *res, const struct ctx *x, git_commit *start)
{
	struct walk w = { 0 };
	git_commit *c = NULL, *p = NULL;
	rv_git_commit ci;
	struct qent q;
	char cur[GIT_OID_HEXSZ + 1];
	unsigned i;
	int rc, gerr;

	memset(&ci, 0, sizeof(ci));
	if ((rc = seen_add(&w, git_commit_id(start))) < 0 ||
	    (rc = heap_push(&w, git_commit_id(start), git_commit_time(start))) < 0)
		goto cleanup;
	while (w.n && res->lookback_scanned < res->lookback_limit) {
		q = heap_pop(&w);
		rc = lookup_commit(&c, x, &q.id);
		if (rc == RV_ETOOBIG && res->lookback_scanned > 0) {
			/* not read, so its parents are not followed through it */
			rv_error_clear();
			res->lookback_skipped++;
			res->lookback_scanned++;
			continue;
		}
		if (rc != 0) {
			if (rc == RV_ENOTFOUND)
				rc = rv_error_prefix(RV_EFORMAT, "corrupt repository");
			goto cleanup;
		}
		git_oid_tostr(cur, sizeof(cur), &q.id);
		memcpy(ci.id, cur, sizeof(ci.id));
		if ((rc = commit_files(&ci, x, c, res->lookback_scanned == 0)) < 0)
			goto cleanup;
		res->lookback_scanned++;
		if (ci.n_files) {
			if ((rc = commit_details(&ci, x, c)) < 0)
				goto cleanup;
			if (!res->recent && !(res->recent = calloc(res->lookback_limit,
					sizeof(*res->recent)))) {
				rc = oom();
				goto cleanup;
			}
			res->recent[res->n_recent++] = ci;
			memset(&ci, 0, sizeof(ci));
		} else {
			commit_dispose(&ci);
		}
		for (i = 0; i < git_commit_parentcount(c); i++) {
			const git_oid *pid = git_commit_parent_id(c, i);

			if ((rc = seen_add(&w, pid)) <= 0) {
				if (rc < 0)
					goto cleanup;
				continue;
			}
			gerr = lookup_commit(&p, x, pid);
			if (gerr == RV_ENOTFOUND && x->shallow) {
				rv_error_clear();
				res->lookback_shallow = 1;
				continue;
			}
			if (gerr == RV_ETOOBIG) {
				/* its time is unknown: queue it as old as its child */
				rv_error_clear();
				if ((rc = heap_push(&w, pid, git_commit_time(c))) < 0)
					goto cleanup;
				continue;
			}
			if (gerr == RV_ENOTFOUND)
				gerr = rv_error_set(RV_EFORMAT, "parent of commit '%s' is missing "
					"in '%s'", cur, x->name);
			if ((rc = gerr) < 0)
				goto cleanup;
			rc = heap_push(&w, pid, git_commit_time(p));
			git_commit_free(p);
			p = NULL;
			if (rc < 0)
				goto cleanup;
		}
		git_commit_free(c);
		c = NULL;
	}
	rc = RV_OK;
cleanup:
	commit_dispose(&ci);
	git_commit_free(c);
	git_commit_free(p);
	free(w.heap);
	free(w.seen);
	return rc;
}

/* ---- describe ----------------------------------------------------------- */

void rv_git_result_free(rv_git_result *res)
{
	size_t i;

	if (!res)
		return;
	free(res->message);
	free(res->repository);
	free(res->revision);
	commit_dispose(&res->commit);
	for (i = 0; i < res->n_recent; i++)
		commit_dispose(&res->recent[i]);
	free(res->recent);
	free(res);
}

static int check_options(const rv_git_options *opts, size_t *n_globs)
{
	size_t i;
	int rc;

	*n_globs = 0;
	if (opts->lookback > RV_GIT_MAX_LOOKBACK)
		return rv_error_set(RV_EINVAL, "look-back %u is more than %d commits",
			opts->lookback, RV_GIT_MAX_LOOKBACK);
	if (opts->build_files) {
		if (opts->n_build_files == 0 || opts->n_build_files > RV_GIT_MAX_BUILD_GLOBS)
			return rv_error_set(RV_EINVAL, "give 1 to %d build-file globs",
				RV_GIT_MAX_BUILD_GLOBS);
		for (i = 0; i < opts->n_build_files; i++)
			if ((rc = rv_glob_check(opts->build_files[i])) < 0)
				return rc;
		*n_globs = opts->n_build_files;
	} else {
		while (rv_git_default_build_files[*n_globs])
			(*n_globs)++;
	}
	return RV_OK;
}

int rv_git_describe(rv_git_result **out, rv_git_repo *r, const char *rev,
	const rv_git_options *opts)
{
	static const rv_git_options defaults;
	rv_git_result *res = NULL;
	git_commit *c = NULL;
	struct ctx x;
	int rc;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	if (!opts)
		opts = &defaults;
	if (!rev)
		return rv_error_set(RV_EINVAL, "empty revision");
	if ((rc = check_options(opts, &x.n_globs)) < 0)
		return rc;
	x.globs = opts->build_files ? opts->build_files : rv_git_default_build_files;
	if ((rc = rv_agent_rules_init(&x.rules, opts->agent_patterns,
			opts->n_agent_patterns, opts->no_default_agents)) < 0)
		return rc;
	if ((rc = rv_git_open(r)) < 0)
		goto cleanup;
	if ((rc = resolve(&c, r, rev, opts->allow_refs)) < 0)
		goto cleanup;
	/* after resolve: a fetch there reopens r->repo */
	x.repo = r->repo;
	x.name = r->name;
	x.shallow = git_repository_is_shallow(r->repo) == 1;
	if (!(res = calloc(1, sizeof(*res))) || !(res->repository = strdup(r->name)) ||
	    !(res->revision = rv_agent_clean(rev, strlen(rev), 256))) {
		rc = oom();
		goto cleanup;
	}
	res->lookback_limit = opts->lookback ? opts->lookback : RV_GIT_DEFAULT_LOOKBACK;
	git_oid_tostr(res->commit.id, sizeof(res->commit.id), git_commit_id(c));
	if ((rc = commit_details(&res->commit, &x, c)) < 0 ||
	    (rc = commit_files(&res->commit, &x, c, 1)) < 0 ||
	    (rc = lookback(res, &x, c)) < 0)
		goto cleanup;
	for (size_t i = 0; i < res->n_recent; i++)
		if (res->recent[i].agent)
			res->agent_touched_build = 1;
	res->status = RV_GIT_OK;
	*out = res;
	res = NULL;
	rc = RV_OK;
cleanup:
	if (rc < 0 && rc != RV_ENOMEM)
		scrub(r, rc);
	git_commit_free(c);
	rv_git_result_free(res);
	rv_agent_rules_dispose(&x.rules);
	return rc;
}

/* A result that only says why there is none. */
static int status_result(rv_git_result **out, rv_git_status status, int error,
	const char *message, const char *repository, const char *revision)
{
	rv_git_result *res = calloc(1, sizeof(*res));

	*out = NULL;
	if (!res)
		return oom();
	res->status = status;
	res->error = error;
	if (!(res->message = rv_agent_clean(message, strlen(message), 1024)) ||
	    (repository && !(res->repository = strdup(repository))) ||
	    (revision && !(res->revision = rv_agent_clean(revision, strlen(revision), 256)))) {
		rv_git_result_free(res);
		return oom();
	}
	*out = res;
	return RV_OK;
}

int rv_git_describe_image(rv_git_result **out, rv_git_repo *const *repos,
	size_t n, const char *revision, const char *source,
	const rv_git_options *opts)
{
	rv_git_repo *r = NULL;
	char msg[1024];
	size_t i;
	int rc;

	*out = NULL;
	if (!revision || !*revision)
		return status_result(out, RV_GIT_NO_REVISION, 0, "no revision label",
			NULL, NULL);
	if (n == 0)
		return status_result(out, RV_GIT_FAILED, RV_ENOTFOUND,
			"no git repository configured", NULL, revision);
	if (n == 1) {
		r = repos[0];
	} else if (!source || !*source) {
		snprintf(msg, sizeof(msg), "no source label to choose among %zu "
			"repositories", n);
		return status_result(out, RV_GIT_FAILED, RV_ENOTFOUND, msg, NULL, revision);
	} else {
		for (i = 0; i < n && !r; i++)
			if (rv_git_source_matches(repos[i], source))
				r = repos[i];
		if (!r) {
			snprintf(msg, sizeof(msg), "no configured repository matches "
				"source '%.200s'", source);
			return status_result(out, RV_GIT_FAILED, RV_ENOTFOUND, msg, NULL,
				revision);
		}
	}
	rc = rv_git_describe(out, r, revision, opts);
	if (rc == RV_ENOMEM)
		return rc;
	if (rc < 0)
		return status_result(out, RV_GIT_FAILED, rc, rv_error_last(), r->name,
			revision);
	return RV_OK;
}

size_t rv_git_commit_agents(const char **out, size_t max, const rv_git_commit *c)
{
	const char *cand[2] = { c->author.agent, c->committer.agent };
	size_t i, j, n = 0;

	for (i = 0; i < 2 + c->trailers.n && n < max; i++) {
		const char *a = i < 2 ? cand[i] : c->trailers.v[i - 2].agent;
		int dup = 0;

		if (!a)
			continue;
		for (j = 0; j < n && !dup; j++)
			dup = strcmp(out[j], a) == 0;
		if (!dup)
			out[n++] = a;
	}
	return n;
}
