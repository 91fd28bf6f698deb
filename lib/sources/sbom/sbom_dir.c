/* sbom_dir.c - feed a catalogue from a directory tree on this host */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources/sbom/sbom_dir.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

#define PATH_CAP (64u << 10)

typedef struct walker {
	rv_sbom *s;
	rv_buf path;     /* absolute inside root, no trailing slash ("" = root) */
	rv_buf data;     /* file contents, reused */
	dev_t dev;
	int cross_mounts;
	int max_depth;
	int depth_warned;
} walker;

static int warn_errno(walker *w, const char *what, int err)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
	return rv_sbom_feed_failed(w->s, w->path.len ? w->path.ptr : "/",
		w->path.len ? w->path.len : 1, msg);
}

/* Read the regular file name (in dirfd, path in w->path) and feed it. */
static int read_db(walker *w, int dirfd, const char *name, size_t max)
{
	struct stat st;
	char chunk[65536], msg[128];
	ssize_t n;
	int fd, rc = RV_OK;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		O_NOCTTY);
	if (fd < 0)
		return warn_errno(w, "cannot open", errno);
	if (fstat(fd, &st) < 0) {
		rc = warn_errno(w, "cannot stat", errno);
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode))
		goto cleanup; /* replaced while we looked: not a database now */
	if ((uint64_t)st.st_size > max) {
		snprintf(msg, sizeof(msg), "larger than the limit of %zu bytes", max);
		rc = rv_sbom_feed_failed(w->s, w->path.ptr, w->path.len, msg);
		goto cleanup;
	}
	rv_buf_reset(&w->data);
	w->data.max = max;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = warn_errno(w, "cannot read", errno);
			goto cleanup;
		}
		if (n == 0)
			break;
		if ((rc = rv_buf_add(&w->data, chunk, (size_t)n)) < 0) {
			if (rc != RV_ETOOBIG)
				goto cleanup;
			snprintf(msg, sizeof(msg),
				"larger than the limit of %zu bytes", max);
			rc = rv_sbom_feed_failed(w->s, w->path.ptr, w->path.len, msg);
			goto cleanup;
		}
	}
	rc = rv_sbom_feed(w->s, w->path.ptr, w->path.len,
		w->data.ptr ? w->data.ptr : "", w->data.len);
cleanup:
	close(fd);
	return rc;
}

/* Walk the directory open at fd (taken over: closed here). */
static int walk_dir(walker *w, int fd, int depth)
{
	struct dirent *de;
	struct stat st;
	size_t base = w->path.len, max;
	DIR *d;
	int rc = RV_OK, sub, isdir, isreg;

	if (!(d = fdopendir(fd))) {
		rc = warn_errno(w, "cannot read directory", errno);
		close(fd);
		return rc;
	}
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				rc = warn_errno(w, "cannot read directory", errno);
			break;
		}
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		isdir = de->d_type == DT_DIR;
		isreg = de->d_type == DT_REG;
		if (de->d_type == DT_UNKNOWN) {
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			isdir = S_ISDIR(st.st_mode);
			isreg = S_ISREG(st.st_mode);
		}
		if (!isdir && !isreg)
			continue;
		w->path.len = base;
		w->path.ptr[base] = '\0';
		if ((rc = rv_buf_putc(&w->path, '/')) < 0 ||
		    (rc = rv_buf_puts(&w->path, de->d_name)) < 0) {
			if (rc != RV_ETOOBIG)
				break;
			w->path.len = base;
			w->path.ptr[base] = '\0';
			rc = rv_sbom_feed_failed(w->s, w->path.len ? w->path.ptr : "/",
				w->path.len ? w->path.len : 1,
				"path too long below this directory");
			if (rc < 0)
				break;
			continue;
		}
		if (isreg) {
			if (rv_sbom_wants(w->path.ptr, w->path.len, &max) &&
			    (rc = read_db(w, dirfd(d), de->d_name, max)) < 0)
				break;
			continue;
		}
		if (depth >= w->max_depth) {
			if (!w->depth_warned++ &&
			    (rc = rv_sbom_feed_failed(w->s, w->path.ptr, w->path.len,
			    "directories nested too deep: not descended")) < 0)
				break;
			continue;
		}
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
			O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if ((rc = warn_errno(w, "cannot open directory", errno)) < 0)
				break;
			continue;
		}
		if (!w->cross_mounts) {
			if (fstat(sub, &st) < 0 || st.st_dev != w->dev) {
				close(sub);
				continue;
			}
		}
		if ((rc = walk_dir(w, sub, depth + 1)) < 0)
			break;
	}
	w->path.len = base;
	if (w->path.ptr)
		w->path.ptr[base] = '\0';
	closedir(d);
	return rc;
}

int rv_sbom_dir_scan(rv_sbom *s, const char *root, const rv_sbom_dir_opts *opts)
{
	walker w;
	struct stat st;
	int fd, rc;

	memset(&w, 0, sizeof(w));
	w.s = s;
	rv_buf_init(&w.path, PATH_CAP);
	rv_buf_init(&w.data, 0);
	w.cross_mounts = opts ? opts->cross_mounts : 0;
	w.max_depth = opts && opts->max_depth > 0 ? opts->max_depth :
		RV_SBOM_DIR_MAX_DEPTH;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return rv_error_setsys(RV_EIO, errno, "cannot open directory '%s'",
			root);
	if (fstat(fd, &st) < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot stat '%s'", root);
		close(fd);
		return rc;
	}
	w.dev = st.st_dev;
	if ((rc = rv_buf_grow(&w.path, 256)) < 0) {
		close(fd);
		return rc;
	}
	w.path.ptr[0] = '\0';
	rc = walk_dir(&w, fd, 0);
	rv_buf_dispose(&w.path);
	rv_buf_dispose(&w.data);
	return rc;
}
