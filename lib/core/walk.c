/* walk.c - build a manifest from a live directory tree */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/dbpath.h"
#include "core/glob.h"
#include "core/walk.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/banned.h"

/*
 * The design is in docs/walker.md. In short: one traversal thread walks an
 * explicit stack of directory levels (no recursion), keeps at most WINDOW
 * of their fds open (an ancestor whose fd was closed is re-opened through
 * ".." and checked by device and inode), opens each regular file and hands
 * the fd through a ring of SLOTS jobs to the hashing threads. Only the
 * traversal thread touches the manifest; hashing results come back through
 * a second ring and are copied into the entry by index.
 */

#define WINDOW 64              /* directory fds kept open on the stack */
#define SLOTS 64               /* regular files in flight to the hashers */
#define WAKE_BATCH 16          /* queued files that wake an idle hasher */
#define MAX_THREADS 64
#define READ_BUF (256 * 1024)  /* per hashing thread */
#define DENTS_BUF (32 * 1024)  /* one getdents64 batch */
#define PATH_CAP (16u << 20)   /* longest manifest path we build */
#define MAX_HOPS 40            /* symlinks followed while resolving a path */
#define LINK_BUF (PATH_MAX + 1)

/* What we keep from lstat. */
struct meta {
	uint64_t dev, ino, size;
	uint32_t mode, uid, gid;
	int64_t mtime_s, ctime_s;
	uint32_t mtime_ns, ctime_ns;
	int mount_known;  /* the kernel reports STATX_ATTR_MOUNT_ROOT */
	int mount_root;
};

/* A subdirectory found in a batch, waiting to be descended. */
struct pend {
	size_t idx;       /* its manifest entry */
	uint64_t dev, ino;
	size_t name_len;  /* the name follows, NUL-terminated, padded to 8 */
};

/* One directory on the stack. */
struct level {
	int fd;           /* -1 while closed (outside the window) */
	uint64_t dev, ino;
	size_t idx;       /* its manifest entry */
	size_t path_len;  /* its path is w->path.ptr[0, path_len) */
	uint64_t off;     /* getdents cookie after the last entry read */
	int eof;
	int err;          /* rv_walk_dbs: why it is not fully searched */
	char *pend;       /* struct pend records of the current batch */
	size_t pend_len, pend_pos, pend_cap;
};

struct job {
	int fd;
	size_t idx;
	struct meta meta;
	int rc;           /* fatal: a negative RV_E* code */
	int err;          /* errno for the entry, 0 if hashed */
	int elf;
	unsigned char digest[RV_SHA256_LEN];
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct job jobs[SLOTS];
	int freel[SLOTS], nfree;
	int todo[SLOTS], todo_head, todo_n;
	int fin[SLOTS], fin_head, fin_n;
	int stop;
	int idle;         /* hashers waiting for work */
	int main_waiting; /* the traversal thread waits until ... */
	int want;         /* ... this many slots are free or finished */
	pthread_t th[MAX_THREADS];
	int nth;
	int inited;
};

struct cfg {
	const char *path;
	size_t len;
	int covered;      /* an earlier path's walk already recorded it */
};

struct walker {
	const rv_walk_opts *o;
	rv_manifest *m;
	int rootfd;
	uint64_t root_dev, root_ino;
	int use_openat2;
	int use_statx;
	rv_buf path;
	struct level *lv;
	size_t depth, lv_cap;
	size_t lo;        /* open levels: 0 and [lo, depth) */
	char *dents;
	struct cfg *cfg;
	size_t ncfg, cur;
	struct pool pool;
	int fatal;
	/* rv_walk_dbs only: */
	rv_dbset *dbs;    /* package databases found (NULL: rv_walk) */
	const rv_walk_dbs_opts *dopts;
	rv_buf data;      /* one file's contents, reused */
	rv_dbpath_dropper drop; /* the contents cap, largest first */
	size_t entries;   /* directory entries looked at */
	int stop;         /* a limit was hit: abandon every level */
};

/* Why a level of rv_walk_dbs is not fully searched, besides an errno. */
#define LIMIT_ENTRIES (-1)
#define LIMIT_RECORDS (-2)

/* --- stat ---------------------------------------------------------------- */

static void meta_from_stat(struct meta *mt, const struct stat *st)
{
	memset(mt, 0, sizeof(*mt));
	mt->dev = (uint64_t)st->st_dev;
	mt->ino = (uint64_t)st->st_ino;
	mt->size = (uint64_t)st->st_size;
	mt->mode = (uint32_t)st->st_mode;
	mt->uid = (uint32_t)st->st_uid;
	mt->gid = (uint32_t)st->st_gid;
	mt->mtime_s = (int64_t)st->st_mtim.tv_sec;
	mt->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	mt->ctime_s = (int64_t)st->st_ctim.tv_sec;
	mt->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
}

/* lstat name in dirfd (name "" with AT_EMPTY_PATH for dirfd itself).
 * Returns 0 or an errno. statx where the kernel (or seccomp) allows it, for
 * STATX_ATTR_MOUNT_ROOT; fstatat otherwise. */
static int get_meta(struct walker *w, int dirfd, const char *name, struct meta *mt)
{
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT;
	struct statx sx;
	struct stat st;

	if (!name[0])
		flags |= AT_EMPTY_PATH;
	if (w->use_statx) {
		if (statx(dirfd, name, flags | AT_STATX_SYNC_AS_STAT,
			  STATX_BASIC_STATS, &sx) == 0) {
			memset(mt, 0, sizeof(*mt));
			mt->dev = (uint64_t)makedev(sx.stx_dev_major, sx.stx_dev_minor);
			mt->ino = sx.stx_ino;
			mt->size = sx.stx_size;
			mt->mode = sx.stx_mode;
			mt->uid = sx.stx_uid;
			mt->gid = sx.stx_gid;
			mt->mtime_s = sx.stx_mtime.tv_sec;
			mt->mtime_ns = sx.stx_mtime.tv_nsec;
			mt->ctime_s = sx.stx_ctime.tv_sec;
			mt->ctime_ns = sx.stx_ctime.tv_nsec;
#ifdef STATX_ATTR_MOUNT_ROOT
			mt->mount_known = !!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT);
			mt->mount_root = !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
#endif
			return 0;
		}
		if (errno != ENOSYS && errno != EPERM)
			return errno;
		w->use_statx = 0;
	}
	if (fstatat(dirfd, name, &st, flags) < 0)
		return errno;
	meta_from_stat(mt, &st);
	return 0;
}

/* Is an entry with meta mt in a directory on device parent_dev a mount
 * point? Where the kernel reports STATX_ATTR_MOUNT_ROOT (Linux 5.8+), only
 * that attribute says so: it catches bind-mounted files from the same
 * device, and another device alone is no mount. A btrfs subvolume has its
 * own st_dev without being mounted, and any uid can make one: counting it
 * as a mount would let a process hide files (and package databases) from
 * the walk. Likewise overlayfs without xino reports lower-layer files on
 * per-layer pseudo devices. Without the attribute (older kernels, fstatat)
 * the device is all there is to compare: there a subvolume still counts as
 * a mount (docs/walker.md, docs/threat-model.md). */
static int is_mount(const struct meta *mt, uint64_t parent_dev)
{
	if (mt->mount_known)
		return mt->mount_root;
	return mt->dev != parent_dev;
}

static int same_file(const struct stat *st, const struct meta *mt)
{
	return (uint64_t)st->st_dev == mt->dev && (uint64_t)st->st_ino == mt->ino;
}

/* --- hashing threads ------------------------------------------------------- */

/* Is the open file st still what statx saw: the same regular inode, same
 * size, not written to since? */
static int unchanged(const struct stat *st, const struct meta *mt)
{
	return same_file(st, mt) && S_ISREG(st->st_mode) &&
		(uint64_t)st->st_size == mt->size &&
		st->st_mtim.tv_sec == mt->mtime_s &&
		(uint32_t)st->st_mtim.tv_nsec == mt->mtime_ns &&
		st->st_ctim.tv_sec == mt->ctime_s &&
		(uint32_t)st->st_ctim.tv_nsec == mt->ctime_ns;
}

/*
 * Hash one file. Before the first read, fstat checks the fd is the regular
 * file statx saw (not a FIFO or device swapped in between: those are never
 * read); after the last, that it did not change while read and that we
 * read exactly st_size bytes. Either failing is EAGAIN.
 */
static void hash_job(struct job *j, unsigned char *buf)
{
	rv_sha256 h = { NULL };
	unsigned char hdr[4];
	size_t hdr_n = 0;
	uint64_t total = 0;
	struct stat st;
	ssize_t r;

	j->err = 0;
	j->elf = 0;
	if (fstat(j->fd, &st) < 0) {
		j->err = errno;
		goto cleanup;
	}
	if (!unchanged(&st, &j->meta)) {
		j->err = EAGAIN;
		goto cleanup;
	}
	j->rc = rv_sha256_init(&h);
	if (j->rc < 0)
		goto cleanup;
	if (j->meta.size > READ_BUF)
		posix_fadvise(j->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (total < j->meta.size) {
		r = read(j->fd, buf, READ_BUF);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			j->err = errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		while (hdr_n < sizeof(hdr) && hdr_n < (size_t)r + total) {
			hdr[hdr_n] = buf[hdr_n - total];
			hdr_n++;
		}
		if ((j->rc = rv_sha256_update(&h, buf, (size_t)r)) < 0)
			goto cleanup;
		total += (uint64_t)r;
	}
	if (total != j->meta.size) {
		j->err = EAGAIN;
		goto cleanup;
	}
	/* Nothing read, nothing to have changed under us. */
	if (total > 0) {
		if (fstat(j->fd, &st) < 0) {
			j->err = errno;
			goto cleanup;
		}
		if (!unchanged(&st, &j->meta)) {
			j->err = EAGAIN;
			goto cleanup;
		}
	}
	j->elf = hdr_n == 4 && memcmp(hdr, "\x7f" "ELF", 4) == 0;
	j->rc = rv_sha256_final(&h, j->digest);
cleanup:
	rv_sha256_dispose(&h);
	close(j->fd);
	j->fd = -1;
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	unsigned char *buf = malloc(READ_BUF);
	int s;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->todo_n == 0 && !p->stop) {
			p->idle++;
			pthread_cond_wait(&p->work, &p->mu);
			p->idle--;
		}
		if (p->todo_n == 0)
			break;
		s = p->todo[p->todo_head];
		p->todo_head = (p->todo_head + 1) % SLOTS;
		p->todo_n--;
		pthread_mutex_unlock(&p->mu);
		if (buf) {
			hash_job(&p->jobs[s], buf);
		} else {
			close(p->jobs[s].fd);
			p->jobs[s].fd = -1;
			p->jobs[s].rc = RV_ENOMEM;
		}
		pthread_mutex_lock(&p->mu);
		p->fin[(p->fin_head + p->fin_n) % SLOTS] = s;
		p->fin_n++;
		if (p->main_waiting && p->nfree + p->fin_n >= p->want)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	free(buf);
	return NULL;
}

static int pool_start(struct pool *p, int threads)
{
	int i, rc;

	memset(p, 0, sizeof(*p));
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return rv_error_set(RV_ERROR, "cannot create a mutex");
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->inited = 1;
	for (i = 0; i < SLOTS; i++) {
		p->freel[i] = i;
		p->jobs[i].fd = -1;
	}
	p->nfree = SLOTS;
	for (i = 0; i < threads; i++) {
		if ((rc = pthread_create(&p->th[i], NULL, worker, p)) != 0)
			return rv_error_setsys(RV_ERROR, rc, "cannot start hashing thread %d", i + 1);
		p->nth++;
	}
	return RV_OK;
}

/* Copy finished results into the manifest. Called with the lock held. */
static void pool_collect(struct walker *w)
{
	struct pool *p = &w->pool;

	while (p->fin_n > 0) {
		int s = p->fin[p->fin_head];
		struct job *j = &p->jobs[s];
		rv_manifest_entry *e = &w->m->entries[j->idx];

		p->fin_head = (p->fin_head + 1) % SLOTS;
		p->fin_n--;
		if (j->rc < 0) {
			if (!w->fatal)
				w->fatal = rv_error_set(j->rc, "cannot hash '%s'", e->path);
		} else if (j->err) {
			e->err = j->err;
			e->has_digest = 0;
		} else {
			memcpy(e->digest, j->digest, RV_SHA256_LEN);
			e->has_digest = 1;
			e->elf = j->elf;
		}
		p->freel[p->nfree++] = s;
	}
}

/* Wait (lock held) until want slots are free or finished, and collect.
 * Waking once per batch rather than once per file saves a futex round
 * trip per file. */
static void pool_wait(struct walker *w, int want)
{
	struct pool *p = &w->pool;

	if (p->todo_n > 0 && p->idle)
		pthread_cond_broadcast(&p->work);
	p->want = want;
	p->main_waiting = 1;
	while (p->nfree + p->fin_n < want)
		pthread_cond_wait(&p->done, &p->mu);
	p->main_waiting = 0;
	pool_collect(w);
}

/* Hand an open regular file to the hashers; when all slots are busy, waits
 * until half of them are done. The fd is the pool's from here on. */
static void pool_submit(struct walker *w, int fd, size_t idx, const struct meta *mt)
{
	struct pool *p = &w->pool;
	int s;

	pthread_mutex_lock(&p->mu);
	pool_collect(w);
	if (p->nfree == 0)
		pool_wait(w, SLOTS / 2);
	s = p->freel[--p->nfree];
	p->jobs[s].fd = fd;
	p->jobs[s].idx = idx;
	p->jobs[s].meta = *mt;
	p->jobs[s].rc = 0;
	p->todo[(p->todo_head + p->todo_n) % SLOTS] = s;
	p->todo_n++;
	/* Idle hashers wake for a batch, not for each file; pool_wait
	 * wakes them for whatever is left. */
	if (p->idle && p->todo_n >= WAKE_BATCH)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

/* Wait for every file in flight and collect the results. */
static void pool_drain(struct walker *w)
{
	struct pool *p = &w->pool;

	if (!p->inited)
		return;
	pthread_mutex_lock(&p->mu);
	pool_wait(w, SLOTS);
	pthread_mutex_unlock(&p->mu);
}

static void pool_stop(struct pool *p)
{
	int i;

	if (!p->inited)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	p->inited = 0;
}

/* --- manifest entries -------------------------------------------------------- */

static int excluded(const struct walker *w)
{
	return w->o->nexcludes &&
		rv_glob_match_any(w->o->excludes, w->o->nexcludes,
			w->path.ptr, w->path.len);
}

/* Add an entry for w->path; *idx gets its index. Marks a later configured
 * path equal to it as covered. */
static int add_entry(struct walker *w, rv_manifest_entry *e, size_t *idx)
{
	size_t i;
	int rc;

	e->path = w->path.ptr;
	e->path_len = w->path.len;
	if ((rc = rv_manifest_add(w->m, e)) < 0)
		return rc;
	if (idx)
		*idx = w->m->count - 1;
	for (i = w->cur + 1; i < w->ncfg; i++)
		if (w->cfg[i].len == w->path.len &&
		    memcmp(w->cfg[i].path, w->path.ptr, w->path.len) == 0)
			w->cfg[i].covered = 1;
	return RV_OK;
}

static void set_err(struct walker *w, size_t idx, int err)
{
	rv_manifest_entry *e = &w->m->entries[idx];

	if (!e->err)
		e->err = err;
}

/* --- package database records (rv_walk_dbs) --------------------------------- */

static const char *err_name(int err, char *tmp, size_t n)
{
	const char *name = rv_errno_name(err);

	if (name)
		return name;
	snprintf(tmp, n, "errno %d", err);
	return tmp;
}

/* Add the fail record "PATH why" for w->path[0, path_len), unless the
 * record cap is reached (then the walk stops, see limit_hit) or `force`. */
static void limit_hit(struct walker *w, int code);

static void dbs_fail_at(struct walker *w, size_t path_len, int force,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void dbs_fail_at(struct walker *w, size_t path_len, int force,
	const char *fmt, ...)
{
	char msg[RV_DBSET_MAX_MESSAGE + 1];
	va_list ap;
	int rc;

	if (!force && w->dbs->n >= w->dopts->max_records) {
		limit_hit(w, LIMIT_RECORDS);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc = rv_dbset_add_failed(w->dbs, w->path.ptr, path_len, msg);
	if (rc < 0 && !w->fatal)
		w->fatal = rc;
}

/* A level that cannot be searched to its end; rv_walk marks its entry,
 * rv_walk_dbs records it when the level is released. */
static void lvl_err(struct walker *w, struct level *L, int err)
{
	if (!w->dbs)
		set_err(w, L->idx, err);
	else if (!L->err)
		L->err = err;
}

/* rv_walk_dbs: the record of a level that is done with. Its path is a
 * prefix of w->path as long as the level is on the stack. */
static void lvl_release(struct walker *w, struct level *L)
{
	char tmp[32];

	if (!w->dbs || !L->err)
		return;
	if (L->err == LIMIT_ENTRIES)
		dbs_fail_at(w, L->path_len, 1, "directory not searched to the "
			"end: the probe's limit of %zu directory entries",
			w->dopts->max_entries);
	else if (L->err == LIMIT_RECORDS)
		dbs_fail_at(w, L->path_len, 1, "directory not searched to the "
			"end: the probe's limit of %zu records",
			w->dopts->max_records);
	else
		dbs_fail_at(w, L->path_len, 1, "directory not searched: %s",
			err_name(L->err, tmp, sizeof(tmp)));
}

/* Stop the walk: every level on the stack is unfinished. */
static void limit_hit(struct walker *w, int code)
{
	size_t k;

	for (k = 0; k < w->depth; k++)
		if (!w->lv[k].err)
			w->lv[k].err = code;
	w->stop = 1;
}

/* A subdirectory (w->path) that cannot be entered. */
static void child_err(struct walker *w, const struct pend *p, int err)
{
	char tmp[32];

	if (!w->dbs)
		set_err(w, p->idx, err);
	else
		dbs_fail_at(w, w->path.len, 0, "directory not searched: %s",
			err_name(err, tmp, sizeof(tmp)));
}

/* Point w->path at parent_len bytes plus "/" and name. */
static int path_child(struct walker *w, size_t parent_len, const char *name, size_t len)
{
	int rc;

	w->path.len = parent_len;
	if (parent_len > 1 && (rc = rv_buf_putc(&w->path, '/')) < 0)
		return rc;
	return rv_buf_add(&w->path, name, len);
}

static rv_ftype ftype(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return RV_FT_FILE;
	case S_IFDIR: return RV_FT_DIR;
	case S_IFLNK: return RV_FT_SYMLINK;
	case S_IFIFO: return RV_FT_FIFO;
	case S_IFSOCK: return RV_FT_SOCKET;
	case S_IFCHR: return RV_FT_CHAR;
	case S_IFBLK: return RV_FT_BLOCK;
	default: return RV_FT_UNKNOWN;
	}
}

/*
 * Record name in dirfd as the entry w->path. With check_mount, an entry on
 * a mount is recorded as RV_FT_MOUNT (unless cross_mounts). A directory to
 * descend is returned in *dir (is_dir set); everything else is complete
 * (regular files are complete once the hashers report back).
 */
static int visit(struct walker *w, int dirfd, const char *name,
	int check_mount, uint64_t parent_dev, struct pend *dir, int *is_dir)
{
	rv_manifest_entry e;
	struct meta mt;
	char link[LINK_BUF];
	size_t idx;
	ssize_t n;
	int r, fd = -1, rc;

	*is_dir = 0;
	memset(&e, 0, sizeof(e));
	if ((r = get_meta(w, dirfd, name, &mt)) != 0) {
		e.type = RV_FT_UNKNOWN;
		e.err = r;
		return add_entry(w, &e, NULL);
	}
	e.type = ftype(mt.mode);
	e.mode = mt.mode & 07777;
	e.uid = mt.uid;
	e.gid = mt.gid;
	if (e.type == RV_FT_UNKNOWN) {
		/* A file type this code does not know: keep it, flagged. */
		e.mode = e.uid = e.gid = 0;
		e.err = EINVAL;
		return add_entry(w, &e, NULL);
	}
	if (check_mount && !w->o->cross_mounts && is_mount(&mt, parent_dev)) {
		e.type = RV_FT_MOUNT;
		return add_entry(w, &e, NULL);
	}
	switch (e.type) {
	case RV_FT_DIR:
		if ((rc = add_entry(w, &e, &idx)) < 0)
			return rc;
		dir->idx = idx;
		dir->dev = mt.dev;
		dir->ino = mt.ino;
		*is_dir = 1;
		return RV_OK;
	case RV_FT_FILE:
		e.size = mt.size;
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
			O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			e.err = errno;
		if ((rc = add_entry(w, &e, &idx)) < 0) {
			if (fd >= 0)
				close(fd);
			return rc;
		}
		if (fd >= 0)
			pool_submit(w, fd, idx, &mt);
		return RV_OK;
	case RV_FT_SYMLINK:
		n = readlinkat(dirfd, name, link, sizeof(link));
		if (n < 0) {
			e.err = errno;
		} else if ((size_t)n >= sizeof(link)) {
			e.err = ENAMETOOLONG;
		} else {
			e.size = (uint64_t)n;
			if ((rc = rv_sha256_buf(e.digest, link, (size_t)n)) < 0)
				return rc;
			e.has_digest = 1;
		}
		return add_entry(w, &e, NULL);
	default:
		return add_entry(w, &e, NULL);
	}
}

/* --- rv_walk_dbs: entries ------------------------------------------------------ */

/*
 * Read the package database w->path (name in dirfd, statx data mt, size
 * cap max) into the set: whole, or as a fail record saying why not. The
 * same checks as hash_job: the open fd must be the regular inode statx saw
 * before the first read and after the last, with exactly its size.
 */
static int read_db(struct walker *w, int dirfd, const char *name,
	const struct meta *mt, size_t max)
{
	uint64_t total = 0;
	struct stat st;
	char tmp[32];
	ssize_t r;
	int fd, err = 0, rc;

	if (mt->size > max) {
		dbs_fail_at(w, w->path.len, 0, "larger than the limit of %zu bytes", max);
		return RV_OK;
	}
	if (mt->size > w->dopts->max_bytes) {
		/* It would be the first to go below: no need to read it; the
		 * dropper's words, so that it reads as if dropped there. */
		dbs_fail_at(w, w->path.len, 0, "%s", w->drop.why);
		return RV_OK;
	}
	if (w->dbs->n >= w->dopts->max_records) {
		limit_hit(w, LIMIT_RECORDS);
		return RV_OK;
	}
	if (w->dopts->race)
		w->dopts->race(w->dopts->race_arg, RV_WALK_RACE_READ, w->path.ptr,
			w->path.len);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
		O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return RV_OK; /* deleted since it was stat'ed: gone */
		err = errno;
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		goto done;
	}
	if (!unchanged(&st, mt)) {
		err = EAGAIN;
		goto done;
	}
	rv_buf_reset(&w->data);
	if ((rc = rv_buf_grow(&w->data, (size_t)mt->size)) < 0) {
		close(fd);
		return rc;
	}
	while (total < mt->size) {
		r = read(fd, w->data.ptr + total, (size_t)(mt->size - total));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			goto done;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
	}
	if (total != mt->size || fstat(fd, &st) < 0 || !unchanged(&st, mt)) {
		err = EAGAIN;
		goto done;
	}
done:
	if (fd >= 0)
		close(fd);
	if (err) {
		dbs_fail_at(w, w->path.len, 0, "cannot read: %s",
			err_name(err, tmp, sizeof(tmp)));
		return RV_OK;
	}
	if ((rc = rv_dbset_add(w->dbs, w->path.ptr, w->path.len, w->data.ptr,
			(size_t)total)) < 0)
		return rc;
	/* Over the total: drop the largest first. Done after every add, this
	 * ends with the same set as once at the end, whatever the order; the
	 * dropper's heap makes it O(log n) a file. */
	return rv_dbpath_dropper_add(&w->drop, w->dbs->n - 1, NULL);
}

/*
 * rv_walk_dbs's visit: only directories (to descend) and regular files
 * that rv_dbpath_classify wants are looked at; d_type spares a statx for
 * everything else. A mount point is not descended (nor read); outside
 * /proc, /sys and /dev it is recorded, so "not looked" differs from
 * "absent". /dev is entered for /dev/shm, which is searched even though
 * it is a mount (rv_dbpath_dir_rule). A name that is gone by the time it
 * is stat'ed (ENOENT) is no record. Symlinks are never followed.
 */
static int visit_db(struct walker *w, int dirfd, const char *name,
	unsigned char dtype, uint64_t parent_dev, struct pend *dir, int *is_dir)
{
	rv_dbpath_dir rule;
	struct meta mt;
	size_t max = 0;
	char tmp[32];
	int r;

	*is_dir = 0;
	if (dtype == DT_REG) {
		if (rv_dbpath_classify(w->path.ptr, w->path.len, &max) == RV_DBPATH_NONE)
			return RV_OK;
	} else if (dtype != DT_DIR && dtype != DT_UNKNOWN) {
		return RV_OK;
	}
	if ((r = get_meta(w, dirfd, name, &mt)) != 0) {
		if (r != ENOENT)
			dbs_fail_at(w, w->path.len, 0, "cannot stat: %s",
				err_name(r, tmp, sizeof(tmp)));
		return RV_OK;
	}
	rule = rv_dbpath_dir_rule(w->path.ptr, w->path.len);
	if (S_ISDIR(mt.mode)) {
		if (rule != RV_DBPATH_DIR_DEV && rule != RV_DBPATH_DIR_SHM &&
		    is_mount(&mt, parent_dev)) {
			if (rule == RV_DBPATH_DIR_SEARCH)
				dbs_fail_at(w, w->path.len, 0,
					"mount point, not descended");
			return RV_OK;
		}
		memset(dir, 0, sizeof(*dir));
		dir->dev = mt.dev;
		dir->ino = mt.ino;
		*is_dir = 1;
		return RV_OK;
	}
	if (!S_ISREG(mt.mode) ||
	    rv_dbpath_classify(w->path.ptr, w->path.len, &max) == RV_DBPATH_NONE)
		return RV_OK;
	/* A file is a mount point only when the kernel says so: overlayfs
	 * without xino puts lower-layer files on other devices. */
	if (mt.mount_known && mt.mount_root) {
		if (rule == RV_DBPATH_DIR_SEARCH)
			dbs_fail_at(w, w->path.len, 0, "mount point, not read");
		return RV_OK;
	}
	return read_db(w, dirfd, name, &mt, max);
}

/* --- the directory stack ------------------------------------------------------ */

static int push_pend(struct level *L, const struct pend *p, const char *name)
{
	size_t need = sizeof(*p) + ((p->name_len + 1 + 7) & ~(size_t)7);
	struct pend *q;

	if (L->pend_cap - L->pend_len < need) {
		size_t cap = L->pend_cap ? L->pend_cap * 2 : 256;
		char *n;

		while (cap - L->pend_len < need)
			cap *= 2;
		if (!(n = realloc(L->pend, cap)))
			return rv_error_set(RV_ENOMEM, "out of memory for a directory listing");
		L->pend = n;
		L->pend_cap = cap;
	}
	q = (struct pend *)(void *)(L->pend + L->pend_len);
	*q = *p;
	memcpy(q + 1, name, p->name_len);
	((char *)(q + 1))[p->name_len] = '\0';
	L->pend_len += need;
	return RV_OK;
}

/* Push an opened directory as the new top level; closes the fd of the
 * lowest level in the window when the window is full. Takes fd. */
static int push_level(struct walker *w, int fd, const struct pend *d, size_t path_len)
{
	struct level *L;

	if (w->depth == w->lv_cap) {
		size_t cap = w->lv_cap ? w->lv_cap * 2 : 64;
		struct level *n = realloc(w->lv, cap * sizeof(*n));

		if (!n) {
			close(fd);
			return rv_error_set(RV_ENOMEM, "out of memory for the directory stack");
		}
		w->lv = n;
		w->lv_cap = cap;
	}
	L = &w->lv[w->depth++];
	memset(L, 0, sizeof(*L));
	L->fd = fd;
	L->dev = d->dev;
	L->ino = d->ino;
	L->idx = d->idx;
	L->path_len = path_len;
	if (w->depth == 1)
		w->lo = 1;
	while (w->depth - w->lo > WINDOW && w->lo + 1 < w->depth) {
		close(w->lv[w->lo].fd);
		w->lv[w->lo].fd = -1;
		w->lo++;
	}
	return RV_OK;
}

/* Open the pending directory p of the top level and push it. A directory
 * that cannot be opened keeps its entry, with err set. */
static int descend(struct walker *w, const struct pend *p)
{
	struct level *L = &w->lv[w->depth - 1];
	const char *name = (const char *)(p + 1);
	struct stat st;
	int fd, rc;

	if ((rc = path_child(w, L->path_len, name, p->name_len)) < 0) {
		if (rc != RV_ETOOBIG)
			return rc;
		if (w->dbs)
			lvl_err(w, L, ENAMETOOLONG);
		else
			set_err(w, p->idx, ENAMETOOLONG);
		return RV_OK;
	}
	if (w->dbs && w->dopts->race)
		w->dopts->race(w->dopts->race_arg, RV_WALK_RACE_ENTER, w->path.ptr,
			w->path.len);
	fd = openat(L->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* rv_walk_dbs: a directory deleted since it was listed is gone,
		 * not unsearched (rv_walk records it: its entry is there). */
		if (!(w->dbs && errno == ENOENT))
			child_err(w, p, errno);
		return RV_OK;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != p->dev ||
	    (uint64_t)st.st_ino != p->ino) {
		/* Replaced between lstat and open. */
		child_err(w, p, EAGAIN);
		close(fd);
		return RV_OK;
	}
	return push_level(w, fd, p, w->path.len);
}

/* Read one getdents batch of the top level and record its entries;
 * subdirectories are queued on the level. */
static int read_batch(struct walker *w)
{
	struct level *L = &w->lv[w->depth - 1];
	struct pend d;
	long n, off;
	int rc, is_dir, dev_only;

	L->pend_len = L->pend_pos = 0;
	n = (long)getdents64(L->fd, w->dents, DENTS_BUF);
	if (n < 0) {
		lvl_err(w, L, errno);
		L->eof = 1;
		return RV_OK;
	}
	if (n == 0) {
		L->eof = 1;
		return RV_OK;
	}
	if (w->dbs && w->dopts->race)
		w->dopts->race(w->dopts->race_arg, RV_WALK_RACE_LISTED, w->path.ptr,
			L->path_len);
	/* rv_walk_dbs in /dev: only "shm" is looked at. */
	dev_only = w->dbs && rv_dbpath_dir_rule(w->path.ptr, L->path_len) ==
		RV_DBPATH_DIR_DEV;
	for (off = 0; off < n; ) {
		struct dirent64 *de = (struct dirent64 *)(void *)(w->dents + off);
		const char *name = de->d_name;
		size_t len = strlen(name);

		off += de->d_reclen;
		L = &w->lv[w->depth - 1];
		L->off = (uint64_t)de->d_off;
		if ((len == 1 && name[0] == '.') ||
		    (len == 2 && name[0] == '.' && name[1] == '.'))
			continue;
		if (dev_only && strcmp(name, "shm") != 0)
			continue;
		if (w->dbs && ++w->entries > w->dopts->max_entries) {
			limit_hit(w, LIMIT_ENTRIES);
			return RV_OK;
		}
		if ((rc = path_child(w, L->path_len, name, len)) < 0) {
			if (rc != RV_ETOOBIG)
				return rc;
			lvl_err(w, L, ENAMETOOLONG);
			continue;
		}
		if (w->dbs) {
			if ((rc = visit_db(w, L->fd, name, de->d_type, L->dev, &d,
					&is_dir)) < 0)
				return rc;
			if (w->stop || w->fatal)
				return RV_OK;
			if (is_dir && w->depth > w->dopts->max_depth) {
				dbs_fail_at(w, w->path.len, 0, "directory not "
					"searched: deeper than %zu levels",
					w->dopts->max_depth);
				is_dir = 0;
			}
		} else {
			if (excluded(w))
				continue;
			if ((rc = visit(w, L->fd, name, 1, L->dev, &d, &is_dir)) < 0)
				return rc;
		}
		if (is_dir) {
			d.name_len = len;
			if ((rc = push_pend(L, &d, name)) < 0)
				return rc;
		}
	}
	return RV_OK;
}

/* Pop the top level; re-open the parent when it fell out of the window. */
static void pop_level(struct walker *w)
{
	struct level *C = &w->lv[w->depth - 1];
	struct level *P;
	struct stat st;
	int fd;
	size_t k;

	lvl_release(w, C);
	free(C->pend);
	w->depth--;
	if (w->depth == 0 || w->lv[w->depth - 1].fd >= 0) {
		close(C->fd);
		if (w->lo > w->depth && w->depth > 0)
			w->lo = w->depth;
		return;
	}
	P = &w->lv[w->depth - 1];
	fd = openat(C->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(C->fd);
	if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_dev == P->dev &&
	    (uint64_t)st.st_ino == P->ino &&
	    (P->eof || lseek(fd, (off_t)P->off, SEEK_SET) >= 0)) {
		P->fd = fd;
		w->lo = w->depth - 1;
		return;
	}
	if (fd >= 0)
		close(fd);
	/* The tree changed under us (or the cookie cannot be used): the
	 * levels outside the window can no longer be found. Mark each of
	 * them incomplete and go back to level 0, which is always open. */
	for (k = w->depth - 1; k >= 1; k--) {
		lvl_err(w, &w->lv[k], ESTALE);
		lvl_release(w, &w->lv[k]);
		free(w->lv[k].pend);
		if (w->lv[k].fd >= 0)
			close(w->lv[k].fd);
	}
	w->depth = 1;
	w->lo = 1;
}

/* rv_walk_dbs after a limit: release every level (with its record). */
static void abandon_levels(struct walker *w)
{
	while (w->depth > 0) {
		struct level *L = &w->lv[--w->depth];

		lvl_release(w, L);
		free(L->pend);
		if (L->fd >= 0)
			close(L->fd);
	}
}

static int walk_tree(struct walker *w)
{
	int rc;

	while (w->depth > 0) {
		struct level *L = &w->lv[w->depth - 1];

		if (w->fatal)
			return w->fatal;
		if (w->stop) {
			abandon_levels(w);
			break;
		}
		if (L->pend_pos < L->pend_len) {
			struct pend *p = (struct pend *)(void *)(L->pend + L->pend_pos);

			L->pend_pos += sizeof(*p) + ((p->name_len + 1 + 7) & ~(size_t)7);
			if ((rc = descend(w, p)) < 0)
				return rc;
		} else if (!L->eof) {
			if ((rc = read_batch(w)) < 0)
				return rc;
		} else {
			pop_level(w);
		}
	}
	return RV_OK;
}

static void drop_levels(struct walker *w)
{
	while (w->depth > 0) {
		struct level *L = &w->lv[--w->depth];

		free(L->pend);
		if (L->fd >= 0)
			close(L->fd);
	}
}

/* --- resolving configured paths ------------------------------------------------ */

static int is_root(struct walker *w, int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (uint64_t)st.st_dev == w->root_dev &&
		(uint64_t)st.st_ino == w->root_ino;
}

/*
 * Resolve rel (relative to root, no leading '/') to a directory by hand:
 * one component at a time with O_NOFOLLOW, symlinks read and spliced into
 * the remaining path, absolute targets restarting at root, ".." never
 * above root, at most MAX_HOPS symlinks. Returns 0 with an O_PATH fd in
 * *out, or an errno.
 */
static int resolve_fallback(struct walker *w, const char *rel, int *out)
{
	rv_buf todo = RV_BUF_INIT((size_t)(MAX_HOPS + 2) * LINK_BUF);
	rv_buf next = RV_BUF_INIT((size_t)(MAX_HOPS + 2) * LINK_BUF);
	char name[NAME_MAX + 1], link[LINK_BUF];
	size_t pos = 0, s, len;
	int cur = -1, nfd, hops = 0, err = 0;
	struct meta mt;
	struct stat st;
	ssize_t n;

	if (rv_buf_puts(&todo, rel) < 0) {
		err = ENAMETOOLONG;
		goto cleanup;
	}
	if ((cur = openat(w->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = errno;
		goto cleanup;
	}
	while (pos < todo.len) {
		while (pos < todo.len && todo.ptr[pos] == '/')
			pos++;
		for (s = pos; pos < todo.len && todo.ptr[pos] != '/'; pos++)
			;
		len = pos - s;
		if (len == 0 || (len == 1 && todo.ptr[s] == '.'))
			continue;
		if (len > NAME_MAX) {
			err = ENAMETOOLONG;
			goto cleanup;
		}
		memcpy(name, todo.ptr + s, len);
		name[len] = '\0';
		if (len == 2 && name[0] == '.' && name[1] == '.') {
			if (is_root(w, cur))
				continue;
			nfd = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (nfd < 0) {
				err = errno;
				goto cleanup;
			}
			close(cur);
			cur = nfd;
			continue;
		}
		if ((err = get_meta(w, cur, name, &mt)) != 0)
			goto cleanup;
		if (S_ISLNK(mt.mode)) {
			if (++hops > MAX_HOPS) {
				err = ELOOP;
				goto cleanup;
			}
			n = readlinkat(cur, name, link, sizeof(link));
			if (n < 0 || (size_t)n >= sizeof(link)) {
				err = n < 0 ? errno : ENAMETOOLONG;
				goto cleanup;
			}
			if (n == 0) {
				err = ENOENT;
				goto cleanup;
			}
			rv_buf_reset(&next);
			if (rv_buf_add(&next, link, (size_t)n) < 0 ||
			    rv_buf_putc(&next, '/') < 0 ||
			    rv_buf_add(&next, todo.ptr + pos, todo.len - pos) < 0) {
				err = ENAMETOOLONG;
				goto cleanup;
			}
			rv_buf_reset(&todo);
			if (rv_buf_add(&todo, next.ptr, next.len) < 0) {
				err = ENAMETOOLONG;
				goto cleanup;
			}
			pos = 0;
			if (link[0] == '/') {
				nfd = openat(w->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (nfd < 0) {
					err = errno;
					goto cleanup;
				}
				close(cur);
				cur = nfd;
			}
			continue;
		}
		if (!S_ISDIR(mt.mode)) {
			err = ENOTDIR;
			goto cleanup;
		}
		nfd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			err = errno;
			goto cleanup;
		}
		close(cur);
		cur = nfd;
		if (fstat(cur, &st) < 0 || !same_file(&st, &mt)) {
			err = EAGAIN;
			goto cleanup;
		}
	}
	*out = cur;
	cur = -1;
cleanup:
	if (cur >= 0)
		close(cur);
	rv_buf_dispose(&todo);
	rv_buf_dispose(&next);
	return err;
}

/* Resolve the directory rel inside root: openat2 RESOLVE_IN_ROOT, or the
 * fallback. Returns 0 with an O_PATH fd in *out, or an errno. */
static int resolve_dir(struct walker *w, const char *rel, int *out)
{
	struct open_how how;
	int fd, tries;

	if (!rel[0]) {
		fd = openat(w->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return errno;
		*out = fd;
		return 0;
	}
	if (w->use_openat2) {
		memset(&how, 0, sizeof(how));
		how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
		how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
		for (tries = 0; tries < 16; tries++) {
			fd = (int)syscall(SYS_openat2, w->rootfd, rel, &how, sizeof(how));
			if (fd >= 0) {
				*out = fd;
				return 0;
			}
			if (errno != EAGAIN && errno != EINTR)
				break;
		}
		/* ENOSYS: kernel before 5.6; EPERM: a seccomp filter that
		 * does not know the call. Anything else is the answer. */
		if (errno != ENOSYS && errno != EPERM)
			return errno;
		w->use_openat2 = 0;
	}
	return resolve_fallback(w, rel, out);
}

/* Walk one configured path (already validated). */
static int walk_path(struct walker *w, const char *path, size_t len)
{
	rv_buf rel = RV_BUF_INIT(PATH_CAP);
	rv_manifest_entry e;
	struct pend d;
	struct meta mt;
	struct stat st;
	const char *last;
	int pfd = -1, fd = -1, r, rc = RV_OK, is_dir = 0;

	rv_buf_reset(&w->path);
	if ((rc = rv_buf_add(&w->path, path, len)) < 0)
		goto cleanup;
	if (excluded(w))
		goto cleanup;
	memset(&d, 0, sizeof(d));
	if (len == 1) {
		/* "/": the root itself, never a mount. */
		memset(&e, 0, sizeof(e));
		if ((r = get_meta(w, w->rootfd, "", &mt)) != 0) {
			rc = rv_error_setsys(RV_EIO, r, "cannot stat root '%s'", w->o->root);
			goto cleanup;
		}
		e.type = RV_FT_DIR;
		e.mode = mt.mode & 07777;
		e.uid = mt.uid;
		e.gid = mt.gid;
		if ((rc = add_entry(w, &e, &d.idx)) < 0)
			goto cleanup;
		d.dev = mt.dev;
		d.ino = mt.ino;
		fd = openat(w->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			set_err(w, d.idx, errno);
			goto cleanup;
		}
		rc = push_level(w, fd, &d, 1);
		fd = -1;
		if (rc < 0)
			goto cleanup;
		rc = walk_tree(w);
		goto cleanup;
	}
	last = (const char *)memrchr(path, '/', len) + 1;
	if ((rc = rv_buf_add(&rel, path + 1, (size_t)(last - path) - 1)) < 0)
		goto cleanup;
	if (rel.len > 0)
		rel.ptr[--rel.len] = '\0'; /* the '/' before the last component */
	if ((r = resolve_dir(w, rel.ptr ? rel.ptr : "", &pfd)) != 0) {
		memset(&e, 0, sizeof(e));
		e.type = RV_FT_UNKNOWN;
		e.err = r;
		rc = add_entry(w, &e, NULL);
		goto cleanup;
	}
	if ((rc = visit(w, pfd, last, 0, 0, &d, &is_dir)) < 0 || !is_dir)
		goto cleanup;
	fd = openat(pfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		set_err(w, d.idx, errno);
		goto cleanup;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != d.dev ||
	    (uint64_t)st.st_ino != d.ino) {
		set_err(w, d.idx, EAGAIN);
		goto cleanup;
	}
	rc = push_level(w, fd, &d, w->path.len);
	fd = -1;
	if (rc < 0)
		goto cleanup;
	rc = walk_tree(w);
cleanup:
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	rv_buf_dispose(&rel);
	return rc;
}

/* --- rv_walk ------------------------------------------------------------------------ */

static int cfg_cmp(const void *a, const void *b)
{
	const struct cfg *x = a, *y = b;
	size_t l = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->path, y->path, l);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int check_opts(const rv_walk_opts *o)
{
	size_t i;
	int rc;

	if (!o || !o->root || !o->root[0])
		return rv_error_set(RV_EINVAL, "walk root is missing");
	if (o->npaths && !o->paths)
		return rv_error_set(RV_EINVAL, "walk paths are missing");
	if (o->nexcludes && !o->excludes)
		return rv_error_set(RV_EINVAL, "walk excludes are missing");
	if (o->threads < 0 || o->threads > MAX_THREADS)
		return rv_error_set(RV_EINVAL, "walk threads %d out of range 0..%d",
			o->threads, MAX_THREADS);
	for (i = 0; i < o->npaths; i++) {
		if (!o->paths[i])
			return rv_error_set(RV_EINVAL, "walk path %zu is missing", i + 1);
		if ((rc = rv_manifest_check_path(o->paths[i], strlen(o->paths[i]))) < 0)
			return rv_error_prefix(rc, "invalid walk path");
	}
	for (i = 0; i < o->nexcludes; i++)
		if ((rc = rv_glob_check(o->excludes[i])) < 0)
			return rv_error_prefix(rc, "invalid exclude");
	return RV_OK;
}

/* Open the walk's root (an O_PATH fd: everything is resolved below it). */
static int open_root(struct walker *w, const char *root)
{
	struct stat st;

	w->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->rootfd < 0) {
		int e = errno;

		if (e == ENOENT)
			return rv_error_setsys(RV_ENOTFOUND, e, "cannot open root '%s'", root);
		if (e == ENOTDIR)
			return rv_error_set(RV_EINVAL, "root '%s' is not a directory", root);
		return rv_error_setsys(RV_EIO, e, "cannot open root '%s'", root);
	}
	if (fstat(w->rootfd, &st) < 0)
		return rv_error_setsys(RV_EIO, errno, "cannot stat root '%s'", root);
	w->root_dev = (uint64_t)st.st_dev;
	w->root_ino = (uint64_t)st.st_ino;
	return RV_OK;
}

int rv_walk(rv_manifest **out, const rv_walk_opts *opts)
{
	static const char *const slash[] = { "/" };
	struct walker *w = NULL;
	const char *const *paths;
	rv_manifest *m = NULL;
	size_t i, n;
	long cpus;
	int rc, threads;

	*out = NULL;
	if ((rc = check_opts(opts)) < 0)
		return rc;
	if (!(w = calloc(1, sizeof(*w))))
		return rv_error_set(RV_ENOMEM, "out of memory for the walker");
	w->o = opts;
	w->rootfd = -1;
	w->use_openat2 = !opts->no_openat2;
	w->use_statx = !opts->no_statx;
	rv_buf_init(&w->path, PATH_CAP);
	if ((rc = open_root(w, opts->root)) < 0)
		goto cleanup;

	paths = opts->npaths ? opts->paths : slash;
	n = opts->npaths ? opts->npaths : 1;
	if (!(w->cfg = calloc(n, sizeof(*w->cfg))) ||
	    !(w->dents = malloc(DENTS_BUF))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory for the walker");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		w->cfg[i].path = paths[i];
		w->cfg[i].len = strlen(paths[i]);
	}
	qsort(w->cfg, n, sizeof(*w->cfg), cfg_cmp);
	w->ncfg = n;
	/* "/" covers everything; equal paths count once. */
	for (i = 1; i < n; i++)
		if (w->cfg[0].len == 1 || cfg_cmp(&w->cfg[i], &w->cfg[i - 1]) == 0)
			w->cfg[i].covered = 1;

	if ((rc = rv_manifest_new(&m)) < 0)
		goto cleanup;
	w->m = m;
	threads = opts->threads;
	if (threads == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
	}
	if ((rc = pool_start(&w->pool, threads)) < 0)
		goto cleanup;
	for (w->cur = 0; w->cur < n; w->cur++) {
		if (w->cfg[w->cur].covered)
			continue;
		rc = walk_path(w, w->cfg[w->cur].path, w->cfg[w->cur].len);
		drop_levels(w);
		if (rc < 0)
			goto cleanup;
	}
	pool_drain(w);
	if (w->fatal) {
		rc = w->fatal;
		goto cleanup;
	}
	if ((rc = rv_manifest_sort(m)) < 0)
		goto cleanup;
	*out = m;
	m = NULL;
cleanup:
	if (w) {
		pool_drain(w);
		pool_stop(&w->pool);
		drop_levels(w);
		if (w->rootfd >= 0)
			close(w->rootfd);
		rv_buf_dispose(&w->path);
		free(w->lv);
		free(w->dents);
		free(w->cfg);
		free(w);
	}
	rv_manifest_free(m);
	return rc;
}

/* --- rv_walk_dbs -------------------------------------------------------------------- */

int rv_walk_dbs(rv_dbset **out, const rv_walk_dbs_opts *opts)
{
	rv_walk_dbs_opts o;
	rv_walk_opts wo;
	struct walker *w = NULL;
	rv_dbset *set = NULL;
	struct pend d;
	struct meta mt;
	int rc, r, fd;

	*out = NULL;
	if (!opts || !opts->root || !opts->root[0])
		return rv_error_set(RV_EINVAL, "walk root is missing");
	o = *opts;
	if (!o.max_bytes)
		o.max_bytes = RV_WALK_DBS_MAX_BYTES;
	if (!o.max_entries)
		o.max_entries = RV_WALK_DBS_MAX_ENTRIES;
	if (!o.max_depth)
		o.max_depth = RV_WALK_DBS_MAX_DEPTH;
	if (!o.max_records)
		o.max_records = RV_WALK_DBS_MAX_RECORDS;
	if (o.max_bytes > RV_DBSET_MAX_BYTES || o.max_records > RV_DBSET_MAX_FILES / 2)
		return rv_error_set(RV_EINVAL, "package database limits over %llu bytes "
			"or %u records", (unsigned long long)RV_DBSET_MAX_BYTES,
			RV_DBSET_MAX_FILES / 2);
	memset(&wo, 0, sizeof(wo));
	wo.root = o.root;
	wo.no_openat2 = o.no_openat2;
	wo.no_statx = o.no_statx;
	if (!(w = calloc(1, sizeof(*w))))
		return rv_error_set(RV_ENOMEM, "out of memory for the walker");
	w->o = &wo;
	w->dopts = &o;
	w->rootfd = -1;
	w->use_openat2 = !o.no_openat2;
	w->use_statx = !o.no_statx;
	rv_buf_init(&w->path, PATH_CAP);
	rv_buf_init(&w->data, (size_t)o.max_bytes);
	if ((rc = open_root(w, o.root)) < 0)
		goto cleanup;
	if (!(w->dents = malloc(DENTS_BUF))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory for the walker");
		goto cleanup;
	}
	if ((rc = rv_dbset_new(&set)) < 0)
		goto cleanup;
	w->dbs = set;
	if ((rc = rv_dbpath_dropper_init(&w->drop, set, o.max_bytes, NULL)) < 0)
		goto cleanup;
	/* "/" itself: its fd, and every entry below opened one component at
	 * a time relative to its parent with O_NOFOLLOW: nothing is resolved
	 * through a symlink, so RESOLVE_IN_ROOT has nothing left to do. */
	if ((rc = rv_buf_puts(&w->path, "/")) < 0)
		goto cleanup;
	if ((r = get_meta(w, w->rootfd, "", &mt)) != 0) {
		rc = rv_error_setsys(RV_EIO, r, "cannot stat root '%s'", o.root);
		goto cleanup;
	}
	memset(&d, 0, sizeof(d));
	d.dev = mt.dev;
	d.ino = mt.ino;
	fd = openat(w->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		char tmp[32];

		dbs_fail_at(w, 1, 1, "directory not searched: %s",
			err_name(errno, tmp, sizeof(tmp)));
	} else {
		if ((rc = push_level(w, fd, &d, 1)) < 0)
			goto cleanup;
		if ((rc = walk_tree(w)) < 0)
			goto cleanup;
	}
	if (w->fatal) {
		rc = w->fatal;
		goto cleanup;
	}
	rv_dbpath_dropper_dispose(&w->drop); /* before the records move */
	if ((rc = rv_dbset_sort(set)) < 0)
		goto cleanup;
	*out = set;
	set = NULL;
cleanup:
	if (w) {
		drop_levels(w);
		if (w->rootfd >= 0)
			close(w->rootfd);
		rv_buf_dispose(&w->path);
		rv_buf_dispose(&w->data);
		rv_dbpath_dropper_dispose(&w->drop);
		free(w->lv);
		free(w->dents);
		free(w);
	}
	rv_dbset_free(set);
	return rc;
}
