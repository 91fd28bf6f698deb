/* cache.c - a content-addressed, checksummed, size-limited on-disk cache */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sources/oci/cache.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

#define MAGIC "rv-cache 1\n"

struct rv_cache {
	char *dir;
	uint64_t max_bytes;
	unsigned long hits, misses, corrupt, writes, evicted; /* atomic adds */
};

static int valid_kind(const char *kind)
{
	const char *p;

	if (!*kind || strlen(kind) > 32)
		return 0;
	for (p = kind; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	return 1;
}

int rv_cache_open(rv_cache **out, const char *dir, uint64_t max_bytes)
{
	rv_cache *c;

	*out = NULL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return rv_error_setsys(RV_EIO, errno, "cannot create cache directory '%s'", dir);
	if (!(c = calloc(1, sizeof(*c))) || !(c->dir = strdup(dir))) {
		free(c);
		return rv_error_set(RV_ENOMEM, "out of memory");
	}
	c->max_bytes = max_bytes;
	*out = c;
	return RV_OK;
}

void rv_cache_close(rv_cache *c)
{
	if (!c)
		return;
	free(c->dir);
	free(c);
}

void rv_cache_stats_get(rv_cache_stats *out, const rv_cache *c)
{
	out->hits = __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
	out->misses = __atomic_load_n(&c->misses, __ATOMIC_RELAXED);
	out->corrupt = __atomic_load_n(&c->corrupt, __ATOMIC_RELAXED);
	out->writes = __atomic_load_n(&c->writes, __ATOMIC_RELAXED);
	out->evicted = __atomic_load_n(&c->evicted, __ATOMIC_RELAXED);
}

static void bump(unsigned long *v)
{
	__atomic_add_fetch(v, 1, __ATOMIC_RELAXED);
}

static int entry_path(rv_buf *p, rv_cache *c, const char *kind, const char *key)
{
	unsigned char d[RV_SHA256_LEN];
	char hex[RV_SHA256_HEX];
	int rc;

	if (!valid_kind(kind))
		return rv_error_set(RV_EINVAL, "bad cache kind '%s'", kind);
	if ((rc = rv_sha256_buf(d, key, strlen(key))) < 0)
		return rc;
	rv_sha256_to_hex(hex, d);
	return rv_buf_printf(p, "%s/%s/%s", c->dir, kind, hex);
}

static int header(rv_buf *b, const char *kind, const char *key)
{
	return rv_buf_printf(b, MAGIC "%s\n%s\n", kind, key);
}

int rv_cache_get(rv_cache *c, const char *kind, const char *key, rv_buf *out, int *found)
{
	rv_buf path = RV_BUF_INIT(8192), file = RV_BUF_INIT(RV_CACHE_ENTRY_MAX + 4096);
	rv_buf hdr = RV_BUF_INIT(8192);
	unsigned char d[RV_SHA256_LEN];
	char chunk[65536];
	struct stat st;
	ssize_t n;
	int fd = -1, rc, bad = 0;

	*found = 0;
	if ((rc = entry_path(&path, c, kind, key)) < 0 || (rc = header(&hdr, kind, key)) < 0)
		goto cleanup;
	if ((fd = open(path.ptr, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			rc = rv_error_setsys(RV_EIO, errno, "cannot open cache entry '%s'", path.ptr);
		bump(&c->misses);
		goto cleanup;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > RV_CACHE_ENTRY_MAX + 4096) {
		bad = 1;
		goto check;
	}
	if ((rc = rv_buf_grow(&file, (size_t)st.st_size)) < 0)
		goto cleanup;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rv_error_setsys(RV_EIO, errno, "cannot read cache entry '%s'", path.ptr);
			goto cleanup;
		}
		if (!n)
			break;
		if (rv_buf_add(&file, chunk, (size_t)n) < 0) {
			bad = 1;
			break;
		}
	}
check:
	if (!bad && (file.len < hdr.len + RV_SHA256_LEN || memcmp(file.ptr, hdr.ptr, hdr.len)))
		bad = 1;
	if (!bad) {
		if ((rc = rv_sha256_buf(d, file.ptr, file.len - RV_SHA256_LEN)) < 0)
			goto cleanup;
		bad = memcmp(d, file.ptr + file.len - RV_SHA256_LEN, RV_SHA256_LEN) != 0;
	}
	if (bad) {
		/* corrupt: remove it, report a miss; the caller rebuilds it */
		(void)unlink(path.ptr);
		bump(&c->corrupt);
		bump(&c->misses);
		rc = RV_OK;
		goto cleanup;
	}
	rv_buf_reset(out);
	if ((rc = rv_buf_add(out, file.ptr + hdr.len, file.len - hdr.len - RV_SHA256_LEN)) < 0)
		goto cleanup;
	(void)futimens(fd, NULL); /* LRU: a hit is a use */
	bump(&c->hits);
	*found = 1;
cleanup:
	if (fd >= 0)
		close(fd);
	rv_buf_dispose(&path);
	rv_buf_dispose(&file);
	rv_buf_dispose(&hdr);
	return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int rv_cache_put(rv_cache *c, const char *kind, const char *key, const void *data, size_t len)
{
	rv_buf path = RV_BUF_INIT(8192), tmp = RV_BUF_INIT(8192), hdr = RV_BUF_INIT(8192);
	unsigned char d[RV_SHA256_LEN];
	rv_sha256 h = { NULL };
	int fd = -1, rc;

	if (len > RV_CACHE_ENTRY_MAX)
		return rv_error_set(RV_ETOOBIG, "cache entry too big");
	if ((rc = entry_path(&path, c, kind, key)) < 0 || (rc = header(&hdr, kind, key)) < 0 ||
	    (rc = rv_buf_printf(&tmp, "%s/%s", c->dir, kind)) < 0)
		goto cleanup;
	if (mkdir(tmp.ptr, 0700) < 0 && errno != EEXIST) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot create '%s'", tmp.ptr);
		goto cleanup;
	}
	if ((rc = rv_buf_puts(&tmp, "/.tmp.XXXXXX")) < 0)
		goto cleanup;
	if ((fd = mkostemp(tmp.ptr, O_CLOEXEC)) < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot create a cache entry in '%s'", c->dir);
		goto cleanup;
	}
	if ((rc = rv_sha256_init(&h)) < 0 || (rc = rv_sha256_update(&h, hdr.ptr, hdr.len)) < 0 ||
	    (rc = rv_sha256_update(&h, data, len)) < 0 || (rc = rv_sha256_final(&h, d)) < 0)
		goto cleanup;
	if (write_all(fd, hdr.ptr, hdr.len) < 0 || write_all(fd, data, len) < 0 ||
	    write_all(fd, d, sizeof(d)) < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot write cache entry '%s'", tmp.ptr);
		goto cleanup;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = rv_error_setsys(RV_EIO, errno, "cannot write cache entry '%s'", tmp.ptr);
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp.ptr, path.ptr) < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot store cache entry '%s'", path.ptr);
		goto cleanup;
	}
	bump(&c->writes);
	rv_buf_reset(&tmp);
cleanup:
	rv_sha256_dispose(&h);
	if (fd >= 0)
		close(fd);
	if (tmp.len && rc < 0)
		(void)unlink(tmp.ptr);
	rv_buf_dispose(&path);
	rv_buf_dispose(&tmp);
	rv_buf_dispose(&hdr);
	return rc;
}

struct victim {
	char *path;
	struct timespec mtime;
	uint64_t size;
};

static int by_mtime(const void *a, const void *b)
{
	const struct victim *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->path, y->path);
}

int rv_cache_evict(rv_cache *c)
{
	rv_buf p = RV_BUF_INIT(8192);
	struct victim *v = NULL;
	size_t nv = 0, cap = 0, i;
	uint64_t total = 0;
	DIR *top = NULL, *sub = NULL;
	struct dirent *de, *fe;
	struct stat st;
	int lockfd = -1, rc = RV_OK;

	if (!c->max_bytes)
		return RV_OK;
	if ((rc = rv_buf_printf(&p, "%s/.lock", c->dir)) < 0)
		goto cleanup;
	if ((lockfd = open(p.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(lockfd, LOCK_EX) < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot lock cache '%s'", c->dir);
		goto cleanup;
	}
	if (!(top = opendir(c->dir))) {
		rc = rv_error_setsys(RV_EIO, errno, "cannot read cache '%s'", c->dir);
		goto cleanup;
	}
	while ((de = readdir(top))) {
		if (de->d_name[0] == '.' || !valid_kind(de->d_name))
			continue;
		rv_buf_reset(&p);
		if ((rc = rv_buf_printf(&p, "%s/%s", c->dir, de->d_name)) < 0)
			goto cleanup;
		if (!(sub = opendir(p.ptr)))
			continue;
		while ((fe = readdir(sub))) {
			if (fe->d_name[0] == '.')
				continue;
			rv_buf_reset(&p);
			if ((rc = rv_buf_printf(&p, "%s/%s/%s", c->dir, de->d_name, fe->d_name)) < 0)
				goto cleanup;
			if (stat(p.ptr, &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			if (nv == cap) {
				void *np;
				cap = cap ? cap * 2 : 64;
				if (!(np = realloc(v, cap * sizeof(*v)))) {
					rc = rv_error_set(RV_ENOMEM, "out of memory");
					goto cleanup;
				}
				v = np;
			}
			if (!(v[nv].path = strdup(p.ptr))) {
				rc = rv_error_set(RV_ENOMEM, "out of memory");
				goto cleanup;
			}
			v[nv].mtime = st.st_mtim;
			v[nv].size = (uint64_t)st.st_size;
			total += v[nv].size;
			nv++;
		}
		closedir(sub);
		sub = NULL;
	}
	if (total > c->max_bytes) {
		qsort(v, nv, sizeof(*v), by_mtime);
		for (i = 0; i < nv && total > c->max_bytes; i++) {
			if (unlink(v[i].path) == 0) {
				total -= v[i].size;
				bump(&c->evicted);
			}
		}
	}
cleanup:
	if (sub)
		closedir(sub);
	if (top)
		closedir(top);
	for (i = 0; i < nv; i++)
		free(v[i].path);
	free(v);
	if (lockfd >= 0)
		close(lockfd); /* releases the flock */
	rv_buf_dispose(&p);
	return rc;
}
