/* main.c - rv-probe: fingerprint a running container from inside its pod */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "core/dbset.h"
#include "core/frame.h"
#include "core/summary.h"
#include "core/glob.h"
#include "core/manifest.h"
#include "core/walk.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

/*
 * rv-probe runs in an ephemeral container that shares the target's PID
 * namespace. It walks the target's files through /proc/1/root, writes the
 * framed manifest to stdout (the container log) and a one-line summary to
 * the termination log. It reads nothing but the target's files, takes no
 * configuration from them, and writes nothing but stdout, stderr and the
 * termination log. docs/probe.md describes the output and exit codes.
 */

#define EXIT_COMPLETE 0   /* walk complete */
#define EXIT_INCOMPLETE 1 /* walk done, some entries could not be read */
#define EXIT_FATAL 2      /* no result */
#define EXIT_USAGE 64     /* bad command line (sysexits EX_USAGE) */

#define MAX_LIST 1024          /* --path and --exclude, each */
#define MAX_THREADS 64 /* as rv_walk allows */
#define MAX_FRAME (1024u << 20) /* the frame of an RV_FRAME_MAX_RAW manifest fits */
#define DEFAULT_TERM_LOG "/dev/termination-log"

/* --packages: the contents cap (docs/probe.md, "Package databases"). A
 * Debian or Ubuntu root's dpkg status is 0.1-5 MB, an rpmdb.sqlite 5-25
 * MB; past 32 MiB the compressed frame would crowd the log anyway. */
#define PACKAGES_MAX_DEFAULT RV_WALK_DBS_MAX_BYTES
/* Its largest value: the canonical form a frame can carry at all. */
#define PACKAGES_MAX_LIMIT ((uint64_t)RV_FRAME_MAX_RAW)
/* The kubelet rotates a container log at containerLogMaxSize (default
 * 10 MiB): all of stdout stays under LOG_LIMIT, the dbs frame under
 * DBS_BUDGET (and what the manifest frame leaves of LOG_LIMIT, but never
 * less than DBS_BUDGET_MIN). */
#define LOG_LIMIT (9u << 20)
#define DBS_BUDGET (6u << 20)
#define DBS_BUDGET_MIN (256u << 10)

static const char usage_text[] =
	"usage: rv-probe [--root DIR] --path P [--path P]... [--exclude GLOB]...\n"
	"                [--cross-mounts] [--threads N] [--termination-log FILE]\n"
	"                [--packages [--packages-max BYTES]]\n"
	"\n"
	"Fingerprint the files under each --path of the filesystem whose root is\n"
	"DIR (default /proc/1/root: the target container's, seen from a container\n"
	"that shares its PID namespace). Symlinks are never followed; absolute ones\n"
	"resolve inside DIR. The framed manifest goes to stdout, a one-line summary\n"
	"to the termination log.\n"
	"\n"
	"  --root DIR              filesystem root (default /proc/1/root)\n"
	"  --path P                absolute path inside DIR to walk (default /app;\n"
	"                          repeatable)\n"
	"  --exclude GLOB          leave out matching paths (repeatable)\n"
	"  --cross-mounts          descend into mount points instead of recording\n"
	"                          them as mounts\n"
	"  --threads N             hashing threads (default 0: one per CPU)\n"
	"  --termination-log FILE  where the summary goes\n"
	"                          (default /dev/termination-log)\n"
	"  --packages              also collect every package database of DIR\n"
	"                          (dpkg, apk, rpm, Python, npm) into a second\n"
	"                          frame on stdout\n"
	"  --packages-max BYTES    cap on their contents in all (default 32 MiB,\n"
	"                          at most 256 MiB)\n"
	"  --help                  show this help\n"
	"\n"
	"Exit status: 0 complete, 1 complete but some entries unreadable\n"
	"(status=incomplete), 2 fatal error, 64 bad command line.\n";

typedef struct options {
	const char *root;
	const char *term_log;
	const char *paths[MAX_LIST];
	size_t npaths;
	const char *excludes[MAX_LIST];
	size_t nexcludes;
	int cross_mounts;
	int threads;
	int help;
	int packages;
	uint64_t packages_max;
} options;

/* The last usage error, for the termination log. */
static char usage_msg[1024];

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(usage_msg, sizeof(usage_msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "rv-probe: %s\nTry 'rv-probe --help'.\n", usage_msg);
	return EXIT_USAGE;
}

/* Write all of data to fd, through short writes and EINTR. 0 or -errno. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Replace the termination log's contents by line. 0 or -errno. The file
 * is the probe's own (the kubelet mounts it), never the target's. The
 * default path is never created: the kubelet makes it, and on a host
 * /dev is no place for a new file. */
static int write_term_log(const char *path, const char *line, size_t len)
{
	int fd, rc, saved;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY |
		(strcmp(path, DEFAULT_TERM_LOG) ? O_CREAT : 0), 0644);
	if (fd < 0)
		return -errno;
	if (fd <= STDERR_FILENO) {
		/* Never let it stand in for a closed stdout or stderr. */
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

		saved = errno;
		close(fd);
		if (hi < 0)
			return -saved;
		fd = hi;
	}
	rc = write_all(fd, line, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* A fatal error: say it on stderr and, if possible, in the termination
 * log. Returns EXIT_FATAL. */
static int fatal(const options *o, const char *msg)
{
	rv_buf line = RV_BUF_INIT(RV_SUMMARY_MAX);
	int rc;

	fprintf(stderr, "rv-probe: %s\n", msg);
	if (o->term_log && rv_summary_format_error(&line, msg) == 0 &&
	    (rc = write_term_log(o->term_log, line.ptr, line.len)) < 0)
		fprintf(stderr, "rv-probe: cannot write termination log '%s': %s\n",
			o->term_log, strerror(-rc));
	rv_buf_dispose(&line);
	return EXIT_FATAL;
}

/* The value of option `name` at argv[*i]: "--name=V" or "--name V".
 * NULL if this argument is not that option; sets *missing when the
 * option is there without a value. */
static const char *opt_value(char **argv, int argc, int *i, const char *name,
	int *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

/* A canonical decimal byte count from 1 to max. */
static int parse_bytes(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p == '\0' || p[0] == '0')
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

static int parse_threads(const char *s, int *out)
{
	long v = 0;
	const char *p = s;

	if (*p == '\0' || (p[0] == '0' && p[1] != '\0'))
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
		if (v > MAX_THREADS)
			return -1;
	}
	*out = (int)v;
	return 0;
}

/* Parse the command line into o. 0, or EXIT_USAGE after the message. */
static int parse_args(options *o, int argc, char **argv)
{
	int i, missing = 0, seen_threads = 0, seen_max = 0;
	const char *v;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->help = 1;
			return 0;
		} else if (!strcmp(a, "--cross-mounts")) {
			o->cross_mounts = 1;
		} else if (!strcmp(a, "--packages")) {
			o->packages = 1;
		} else if ((v = opt_value(argv, argc, &i, "--packages-max", &missing))) {
			if (seen_max++)
				return usage_error("--packages-max given twice");
			if (parse_bytes(v, PACKAGES_MAX_LIMIT, &o->packages_max) < 0)
				return usage_error("--packages-max '%s' is not a number "
					"of bytes from 1 to %llu (what a frame can carry)",
					v, (unsigned long long)PACKAGES_MAX_LIMIT);
		} else if ((v = opt_value(argv, argc, &i, "--root", &missing))) {
			if (o->root)
				return usage_error("--root given twice");
			if (*v == '\0')
				return usage_error("--root is empty");
			o->root = v;
		} else if ((v = opt_value(argv, argc, &i, "--path", &missing))) {
			if (rv_manifest_check_path(v, strlen(v)) < 0)
				return usage_error("--path: %s", rv_error_last());
			if (o->npaths == MAX_LIST)
				return usage_error("more than %d --path options", MAX_LIST);
			o->paths[o->npaths++] = v;
		} else if ((v = opt_value(argv, argc, &i, "--exclude", &missing))) {
			if (rv_glob_check(v) < 0)
				return usage_error("--exclude: %s", rv_error_last());
			if (o->nexcludes == MAX_LIST)
				return usage_error("more than %d --exclude options", MAX_LIST);
			o->excludes[o->nexcludes++] = v;
		} else if ((v = opt_value(argv, argc, &i, "--threads", &missing))) {
			if (seen_threads++)
				return usage_error("--threads given twice");
			if (parse_threads(v, &o->threads) < 0)
				return usage_error("--threads '%s' is not a number from "
					"0 to %d", v, MAX_THREADS);
		} else if ((v = opt_value(argv, argc, &i, "--termination-log", &missing))) {
			if (o->term_log)
				return usage_error("--termination-log given twice");
			if (*v == '\0')
				return usage_error("--termination-log is empty");
			o->term_log = v;
		} else if (missing) {
			return usage_error("option '%s' needs a value", a);
		} else if (a[0] == '-') {
			return usage_error("unknown option '%s'", a);
		} else {
			return usage_error("unexpected argument '%s'", a);
		}
	}
	if (seen_max && !o->packages)
		return usage_error("--packages-max needs --packages");
	if (!o->root)
		o->root = "/proc/1/root";
	if (!o->term_log)
		o->term_log = DEFAULT_TERM_LOG;
	if (!o->packages_max)
		o->packages_max = PACKAGES_MAX_DEFAULT;
	if (o->npaths == 0)
		o->paths[o->npaths++] = "/app";
	return 0;
}

/* Where a usage error goes: the --termination-log the command line names
 * (read with the same grammar as parse_args, so an option's value is never
 * taken for an option), else the default. */
static const char *usage_term_log(int argc, char **argv)
{
	static const char *const with_value[] = { "--root", "--path",
		"--exclude", "--threads", "--packages-max", NULL };
	size_t n = strlen("--termination-log");
	int i, k;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "--termination-log", n)) {
			if (a[n] == '=' && a[n + 1])
				return a + n + 1;
			if (a[n] == '\0' && i + 1 < argc && argv[i + 1][0])
				return argv[i + 1];
			if (a[n] == '\0' || a[n] == '=')
				break;
			continue;
		}
		for (k = 0; with_value[k]; k++)
			if (!strcmp(a, with_value[k])) {
				i++;
				break;
			}
	}
	return DEFAULT_TERM_LOG;
}

/* A usage error also goes to the termination log, where it can be
 * written: the kubelet shows nothing else of a probe that exited 64. */
static void usage_to_term_log(int argc, char **argv)
{
	rv_buf line = RV_BUF_INIT(RV_SUMMARY_MAX);

	if (rv_summary_format_error(&line, usage_msg) == 0)
		(void)write_term_log(usage_term_log(argc, argv), line.ptr, line.len);
	rv_buf_dispose(&line);
}

/* stdout could not be written (rc a negative errno): fatal. */
static int stdout_failed(const options *o, int rc)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "cannot write the frame to stdout: %s",
		strerror(-rc));
	return fatal(o, msg);
}

/* Check the root opens as a directory, to name it in the message (for
 * /proc/1/root, EACCES is the kernel's ptrace rule saying no). */
static int check_root(const options *o)
{
	char msg[1024];
	int fd = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	snprintf(msg, sizeof(msg), "cannot open root '%s': %s%s", o->root,
		strerror(errno), errno == EACCES || errno == EPERM ?
		" (the probe's uid, gid and capabilities must match the "
		"target's, and the target must be dumpable; see "
		"docs/probe.md)" : "");
	return fatal(o, msg);
}

/*
 * The package search and its dbs frame (appended to out), the set in
 * *set_out. Whatever goes wrong in it (a hostile tree whose fail records
 * do not fit the log budget even without contents, a canonical form over
 * RV_FRAME_MAX_RAW, out of memory) costs the package check only: the set
 * becomes the single record "fail / package search abandoned: WHY", which
 * verify reports as an incomplete package check while the file verdict
 * stands. Fatal (negative, the message in rv_error_last) only when even
 * that record cannot be framed.
 */
static int package_frame(rv_buf *out, rv_dbset **set_out, const options *o,
	size_t budget)
{
	char why[RV_DBSET_MAX_MESSAGE + 1];
	rv_walk_dbs_opts dopts;
	rv_dbset *set = NULL;
	size_t i, n;
	int rc;

	*set_out = NULL;
	memset(&dopts, 0, sizeof(dopts));
	dopts.root = o->root;
	dopts.max_bytes = o->packages_max;
	if ((rc = rv_walk_dbs(&set, &dopts)) == RV_OK &&
	    (rc = rv_frame_encode_dbset_fit(out, set, budget, NULL)) == RV_OK) {
		*set_out = set;
		return RV_OK;
	}
	/* A fail message is printable ASCII that neither starts nor ends
	 * with a space (core/dbset.h): cut and clean it here. */
	snprintf(why, sizeof(why), "package search abandoned: %s", rv_error_last());
	n = strlen(why);
	for (i = 0; i < n; i++)
		if (why[i] < 0x20 || why[i] > 0x7e)
			why[i] = '?';
	while (n > 0 && why[n - 1] == ' ')
		why[--n] = '\0';
	rv_dbset_free(set);
	set = NULL;
	if ((rc = rv_dbset_new(&set)) < 0 ||
	    (rc = rv_dbset_add_failed(set, "/", 1, why)) < 0 ||
	    (rc = rv_dbset_sort(set)) < 0 ||
	    (rc = rv_frame_encode_dbset(out, set)) < 0) {
		rv_dbset_free(set);
		return rc;
	}
	*set_out = set;
	return RV_OK;
}

int main(int argc, char **argv)
{
	options o;
	rv_walk_opts wo;
	rv_manifest *m = NULL;
	rv_dbset *set = NULL;
	rv_buf frame = RV_BUF_INIT(MAX_FRAME);
	rv_buf dbs = RV_BUF_INIT(MAX_FRAME);
	rv_buf summary = RV_BUF_INIT(RV_SUMMARY_MAX);
	rv_manifest_stats st;
	size_t budget, frame_len;
	int status, rc;

	/* First: a process in the target (same uid) must not be able to
	 * ptrace us, read our memory or open our /proc files, and so forge
	 * what we print. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "rv-probe: cannot make the process non-dumpable: "
			"%s\n", strerror(errno));
		return EXIT_FATAL;
	}
	/* Read no configuration file at all: OpenSSL would otherwise load
	 * openssl.cnf (or $OPENSSL_CONF) at the first digest. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
		fputs("rv-probe: cannot initialize libcrypto\n", stderr);
		return EXIT_FATAL;
	}
	/* A closed pipe must be an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);

	memset(&o, 0, sizeof(o));
	if ((status = parse_args(&o, argc, argv)) != 0) {
		usage_to_term_log(argc, argv);
		return status;
	}
	if (o.help) {
		if (write_all(STDOUT_FILENO, usage_text, sizeof(usage_text) - 1) < 0)
			return EXIT_FATAL;
		return EXIT_COMPLETE;
	}
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0)
		return fatal(&o, "stdout is closed");
	if ((status = check_root(&o)) != 0)
		return status;

	memset(&wo, 0, sizeof(wo));
	wo.root = o.root;
	wo.paths = o.paths;
	wo.npaths = o.npaths;
	wo.excludes = o.excludes;
	wo.nexcludes = o.nexcludes;
	wo.cross_mounts = o.cross_mounts;
	wo.threads = o.threads;
	if (rv_walk(&m, &wo) < 0 || rv_frame_encode(&frame, m) < 0) {
		status = fatal(&o, rv_error_last());
		goto cleanup;
	}
	/* The manifest frame goes out first, before the package search:
	 * nothing that search meets in the target can cost the file verdict. */
	if ((rc = write_all(STDOUT_FILENO, frame.ptr, frame.len)) < 0) {
		status = stdout_failed(&o, rc);
		goto cleanup;
	}
	frame_len = frame.len;
	rv_buf_dispose(&frame);
	if (o.packages) {
		budget = frame_len < LOG_LIMIT ? LOG_LIMIT - frame_len : 0;
		if (budget > DBS_BUDGET)
			budget = DBS_BUDGET;
		if (budget < DBS_BUDGET_MIN)
			budget = DBS_BUDGET_MIN;
		if (package_frame(&dbs, &set, &o, budget) < 0) {
			status = fatal(&o, rv_error_last());
			goto cleanup;
		}
	}
	if (rv_summary_format_dbset(&summary, m, set) < 0) {
		status = fatal(&o, rv_error_last());
		goto cleanup;
	}
	rv_manifest_stats_get(&st, m);
	status = st.errors ? EXIT_INCOMPLETE : EXIT_COMPLETE;

	if (dbs.len && (rc = write_all(STDOUT_FILENO, dbs.ptr, dbs.len)) < 0) {
		status = stdout_failed(&o, rc);
		goto cleanup;
	}
	if ((rc = write_term_log(o.term_log, summary.ptr, summary.len)) < 0) {
		fprintf(stderr, "rv-probe: cannot write termination log '%s': %s\n",
			o.term_log, strerror(-rc));
		status = EXIT_FATAL;
	}

cleanup:
	rv_manifest_free(m);
	rv_dbset_free(set);
	rv_buf_dispose(&frame);
	rv_buf_dispose(&dbs);
	rv_buf_dispose(&summary);
	return status;
}
