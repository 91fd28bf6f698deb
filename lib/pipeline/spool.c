/* spool.c - reports that could not be delivered, kept for the next run */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/spool.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

#define SPOOL_MAX_REPORT (64u << 20)
#define SPOOL_MAX_FILES 1000

static int key_ok(const char *key)
{
	const char *p;

	if (!*key || strlen(key) > 128)
		return 0;
	for (p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return key[0] != '.';
}

int rv_spool_put(const char *dir, const char *key, const char *body, size_t len)
{
	rv_buf tmp = RV_BUF_INIT(8192), dst = RV_BUF_INIT(8192);
	size_t off = 0;
	int fd = -1, rc;

	if (!key_ok(key))
		return rv_error_set(RV_EINVAL, "spool key '%s' is not a safe file name", key);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return rv_error_setsys(RV_EIO, errno, "cannot create spool directory '%s'", dir);
	if ((rc = rv_buf_printf(&tmp, "%s/.%s.tmp", dir, key)) < 0 ||
	    (rc = rv_buf_printf(&dst, "%s/%s.json", dir, key)) < 0)
		goto cleanup;
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot write spool file '%s'", tmp.ptr);
		goto cleanup;
	}
	while (off < len) {
		ssize_t n = write(fd, body + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rv_error_setsys(RV_EIO, errno, "cannot write spool file '%s'", tmp.ptr);
			goto cleanup;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		rc = rv_error_setsys(RV_EIO, errno, "cannot write spool file '%s'", tmp.ptr);
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp.ptr, dst.ptr) < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot rename spool file to '%s'", dst.ptr);
		goto cleanup;
	}
	rc = RV_OK;
cleanup:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp.ptr)
		unlink(tmp.ptr);
	rv_buf_dispose(&tmp);
	rv_buf_dispose(&dst);
	return rc;
}

struct spooled {
	char *name;
	time_t mtime;
};

static int by_age(const void *a, const void *b)
{
	const struct spooled *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

int rv_spool_flush(const char *dir, rv_spool_deliver_fn deliver, void *ctx,
	size_t *sent, size_t *left)
{
	struct spooled *list = NULL;
	size_t n = 0, i;
	rv_buf body = RV_BUF_INIT(SPOOL_MAX_REPORT);
	struct dirent *de;
	DIR *d;
	int dfd, rc = RV_OK;

	*sent = *left = 0;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return RV_OK;
		return rv_error_setsys(RV_EIO, errno, "cannot open spool directory '%s'", dir);
	}
	dfd = dirfd(d);
	list = calloc(SPOOL_MAX_FILES, sizeof(*list));
	if (!list) {
		closedir(d);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	while ((de = readdir(d)) && n < SPOOL_MAX_FILES) {
		size_t l = strlen(de->d_name);
		struct stat st;

		if (l < 6 || de->d_name[0] == '.' || strcmp(de->d_name + l - 5, ".json"))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		list[n].name = strdup(de->d_name);
		list[n].mtime = st.st_mtime;
		if (list[n].name)
			n++;
	}
	qsort(list, n, sizeof(*list), by_age);
	for (i = 0; i < n; i++) {
		int fd = openat(dfd, list[i].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		char chunk[65536], key[256];
		ssize_t r;
		int bad = 0;

		rv_buf_reset(&body);
		if (fd < 0) {
			(*left)++;
			continue;
		}
		while ((r = read(fd, chunk, sizeof(chunk))) > 0)
			if (rv_buf_add(&body, chunk, (size_t)r) < 0) {
				bad = 1;
				break;
			}
		close(fd);
		if (bad || r < 0) {
			(*left)++;
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(strlen(list[i].name) - 5), list[i].name);
		if (deliver(ctx, key, body.ptr ? body.ptr : "", body.len) == RV_OK) {
			unlinkat(dfd, list[i].name, 0);
			(*sent)++;
		} else {
			(*left)++;
		}
	}
	for (i = 0; i < n; i++)
		free(list[i].name);
	free(list);
	closedir(d);
	rv_buf_dispose(&body);
	return rc;
}
