/* test_walk.c - the fingerprint walker on real trees built under a temp dir */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/dbset.h"
#include "core/manifest.h"
#include "core/walk.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/sha256.h"

/* sha256("hello\n") and sha256("") */
#define HELLO_SHA "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Each test gets a fresh directory: tmp is the mkdtemp dir, root = tmp/root
 * is the tree walked. */
struct fx {
	char tmp[64];
	char root[96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/rv-walk-XXXXXX");
	if (!mkdtemp(f->tmp))
		return -1;
	chmod(f->tmp, 0755); /* so the unprivileged child can get in */
	snprintf(f->root, sizeof(f->root), "%s/root", f->tmp);
	if (mkdir(f->root, 0755) < 0)
		return -1;
	*state = f;
	return 0;
}

/* Unmount whatever a failed test left mounted under tmp. */
static void unmount_all(const struct fx *f)
{
	char line[8192], dir[8192];
	size_t n = strlen(f->tmp);
	FILE *mf;
	int again = 1, rounds = 0;

	while (again && rounds++ < 10) {
		again = 0;
		if (!(mf = fopen("/proc/self/mounts", "re")))
			return;
		while (fgets(line, sizeof(line), mf))
			if (sscanf(line, "%*s %8191s", dir) == 1 &&
			    strncmp(dir, f->tmp, n) == 0 && dir[n] == '/' &&
			    umount2(dir, MNT_DETACH) == 0)
				again = 1;
		fclose(mf);
	}
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	unmount_all(f);
	/* rm copes with trees deeper than PATH_MAX. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmp);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* --- building trees ------------------------------------------------------- */

static void pathf(char *out, size_t n, const struct fx *f, const char *rel)
{
	snprintf(out, n, "%s/%s", f->root, rel);
}

static void mkdirs(const struct fx *f, const char *rel, mode_t mode)
{
	char p[4096];

	pathf(p, sizeof(p), f, rel);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0); /* past the umask */
}

static void put(const struct fx *f, const char *rel, const void *data, size_t len,
	mode_t mode)
{
	char p[4096];
	int fd;

	pathf(p, sizeof(p), f, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void puts_(const struct fx *f, const char *rel, const char *s)
{
	put(f, rel, s, strlen(s), 0644);
}

static void link_(const struct fx *f, const char *rel, const char *target)
{
	char p[4096];

	pathf(p, sizeof(p), f, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* --- walking and looking ----------------------------------------------------- */

static int walk(rv_manifest **m, const struct fx *f, const char *const *paths,
	size_t n, int no_openat2)
{
	rv_walk_opts o;

	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.paths = paths;
	o.npaths = n;
	o.no_openat2 = no_openat2;
	o.threads = 2;
	return rv_walk(m, &o);
}

static const rv_manifest_entry *get(const rv_manifest *m, const char *path)
{
	const rv_manifest_entry *e = rv_manifest_find(m, path, strlen(path));

	if (!e)
		fail_msg("no entry '%s'", path);
	return e;
}

static void absent(const rv_manifest *m, const char *path)
{
	if (rv_manifest_find(m, path, strlen(path)))
		fail_msg("unexpected entry '%s'", path);
}

static void hex_is(const rv_manifest_entry *e, const char *hex)
{
	char got[RV_SHA256_HEX];

	assert_true(e->has_digest);
	rv_sha256_to_hex(got, e->digest);
	assert_string_equal(got, hex);
}

static void digest_of(const rv_manifest_entry *e, const void *data, size_t len)
{
	unsigned char d[RV_SHA256_LEN];

	assert_int_equal(rv_sha256_buf(d, data, len), 0);
	assert_true(e->has_digest);
	assert_memory_equal(e->digest, d, RV_SHA256_LEN);
}

/* The canonical bytes of a manifest, as a string the caller frees. */
static char *canon(const rv_manifest *m)
{
	rv_buf b = RV_BUF_INIT((size_t)1 << 30);

	assert_int_equal(rv_manifest_serialize(&b, m), 0);
	return rv_buf_detach(&b, NULL);
}

/* --- tests ----------------------------------------------------------------------- */

static void test_types_and_metadata(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app" };
	static const char elf[] = "\x7f" "ELF\x02\x01\x01rest";
	const rv_manifest_entry *e;
	struct sockaddr_un sa;
	rv_manifest *m = NULL;
	char p[4096];
	int s;

	mkdirs(f, "app", 0755);
	puts_(f, "app/hello", "hello\n");
	put(f, "app/empty", "", 0, 0600);
	put(f, "app/bin", elf, sizeof(elf) - 1, 0755);
	put(f, "app/suid", "x", 1, 04755);
	put(f, "app/elfish", "\x7f" "EL", 3, 0644);
	link_(f, "app/rel", "hello");
	link_(f, "app/dangling", "/nowhere/at/all");
	pathf(p, sizeof(p), f, "app/fifo");
	assert_int_equal(mkfifo(p, 0640), 0);
	mkdirs(f, "app/special", 07755);
	mkdirs(f, "app/tmp", 01777);
	mkdirs(f, "app/sgid", 02750);
	pathf(p, sizeof(p), f, "app/hello");
	assert_int_equal(chown(p, 1234, 5678), 0);
	/* A unix socket. */
	pathf(p, sizeof(p), f, "app/sock");
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p));
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);

	assert_int_equal(walk(&m, f, paths, 1, 0), 0);
	assert_int_equal(m->count, 13);
	assert_true(m->sorted);
	absent(m, "/");

	e = get(m, "/app");
	assert_int_equal(e->type, RV_FT_DIR);
	assert_int_equal(e->mode, 0755);
	assert_int_equal(e->size, 0);
	e = get(m, "/app/hello");
	assert_int_equal(e->type, RV_FT_FILE);
	assert_int_equal(e->size, 6);
	assert_int_equal(e->uid, 1234);
	assert_int_equal(e->gid, 5678);
	assert_int_equal(e->mode, 0644);
	assert_int_equal(e->elf, 0);
	assert_int_equal(e->err, 0);
	hex_is(e, HELLO_SHA);
	e = get(m, "/app/empty");
	assert_int_equal(e->size, 0);
	assert_int_equal(e->mode, 0600);
	hex_is(e, EMPTY_SHA);
	e = get(m, "/app/bin");
	assert_int_equal(e->elf, 1);
	assert_int_equal(e->mode, 0755);
	digest_of(e, elf, sizeof(elf) - 1);
	e = get(m, "/app/elfish");
	assert_int_equal(e->elf, 0);
	assert_int_equal(get(m, "/app/suid")->mode, 04755);
	/* Symlinks: never followed, digest of the target string. */
	e = get(m, "/app/rel");
	assert_int_equal(e->type, RV_FT_SYMLINK);
	assert_int_equal(e->size, 5);
	digest_of(e, "hello", 5);
	e = get(m, "/app/dangling");
	assert_int_equal(e->type, RV_FT_SYMLINK);
	assert_int_equal(e->err, 0);
	assert_int_equal(e->size, 15);
	digest_of(e, "/nowhere/at/all", 15);
	/* A fifo is recorded, not opened (the walk would block). */
	e = get(m, "/app/fifo");
	assert_int_equal(e->type, RV_FT_FIFO);
	assert_int_equal(e->mode, 0640);
	assert_int_equal(e->size, 0);
	assert_false(e->has_digest);
	assert_int_equal(get(m, "/app/sock")->type, RV_FT_SOCKET);
	/* Directory bits, setuid/setgid/sticky included; never st_size. */
	e = get(m, "/app/special");
	assert_int_equal(e->type, RV_FT_DIR);
	assert_int_equal(e->mode, 07755);
	assert_int_equal(e->size, 0);
	assert_int_equal(get(m, "/app/tmp")->mode, 01777);
	assert_int_equal(get(m, "/app/sgid")->mode, 02750);
	rv_manifest_free(m);
}

static void test_no_paths_is_root(void **state)
{
	struct fx *f = *state;
	const rv_manifest_entry *e;
	rv_manifest *m = NULL;
	rv_walk_opts o;

	mkdirs(f, "app", 0700);
	puts_(f, "app/hello", "hello\n");
	memset(&o, 0, sizeof(o));
	o.root = f->root;
	assert_int_equal(rv_walk(&m, &o), 0);
	assert_int_equal(m->count, 3);
	e = get(m, "/");
	assert_int_equal(e->type, RV_FT_DIR);
	assert_int_equal(e->mode, 0755);
	assert_int_equal(get(m, "/app")->mode, 0700);
	hex_is(get(m, "/app/hello"), HELLO_SHA);
	assert_string_equal(m->entries[0].path, "/");
	rv_manifest_free(m);
}

/* root/app -> <tmp>/decoy: an absolute target resolves inside root
 * (root<tmp>/decoy), never on the host (<tmp>/decoy), which exists too. */
static void build_decoy(const struct fx *f, char *target, size_t n)
{
	char p[4096];

	snprintf(target, n, "%s/decoy", f->tmp);
	assert_int_equal(mkdir(target, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub", target);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub/host-file", target);
	assert_int_equal(close(open(p, O_WRONLY | O_CREAT, 0644)), 0);
	/* The same path inside root, one directory at a time. */
	{
		char cmd[8192];

		snprintf(cmd, sizeof(cmd), "mkdir -p '%s%s/decoy/sub'", f->root, f->tmp);
		assert_int_equal(system(cmd), 0);
	}
	snprintf(p, sizeof(p), "%s%s/decoy/sub/in-root", f->root, f->tmp);
	assert_int_equal(close(open(p, O_WRONLY | O_CREAT, 0644)), 0);
	link_(f, "app", target);
}

static void test_symlink_last_component(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app" };
	const rv_manifest_entry *e;
	rv_manifest *m = NULL;
	char target[256];
	int fb;

	build_decoy(f, target, sizeof(target));
	for (fb = 0; fb <= 1; fb++) {
		assert_int_equal(walk(&m, f, paths, 1, fb), 0);
		assert_int_equal(m->count, 1);
		e = get(m, "/app");
		assert_int_equal(e->type, RV_FT_SYMLINK);
		assert_int_equal(e->size, strlen(target));
		digest_of(e, target, strlen(target));
		rv_manifest_free(m);
		m = NULL;
	}
}

static void test_symlink_intermediate(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app/sub" };
	const char *paths2[] = { "/esc/marker", "/up/sub" };
	rv_manifest *m = NULL;
	char target[256];
	int fb;

	build_decoy(f, target, sizeof(target));
	/* Relative targets with ".." stop at root. */
	mkdirs(f, "etc", 0755);
	puts_(f, "etc/marker", "in root\n");
	link_(f, "esc", "../../../../../../../../etc");
	link_(f, "up", "/../../etc/../app");
	for (fb = 0; fb <= 1; fb++) {
		assert_int_equal(walk(&m, f, paths, 1, fb), 0);
		assert_int_equal(m->count, 2);
		assert_int_equal(get(m, "/app/sub")->type, RV_FT_DIR);
		assert_int_equal(get(m, "/app/sub/in-root")->type, RV_FT_FILE);
		absent(m, "/app/sub/host-file");
		rv_manifest_free(m);
		m = NULL;

		assert_int_equal(walk(&m, f, paths2, 2, fb), 0);
		digest_of(get(m, "/esc/marker"), "in root\n", 8);
		assert_int_equal(get(m, "/up/sub")->type, RV_FT_DIR);
		get(m, "/up/sub/in-root");
		assert_int_equal(m->count, 3);
		rv_manifest_free(m);
		m = NULL;
	}
}

static void test_symlink_loop(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/loop1/x", "/loop1", "/self/x" };
	const char *chain[] = { "/c0/x", "/c1/x" };
	const rv_manifest_entry *e;
	rv_manifest *m = NULL;
	char name[16], target[16];
	int fb, i;

	link_(f, "loop1", "loop2");
	link_(f, "loop2", "/loop1");
	link_(f, "self", "self");
	for (fb = 0; fb <= 1; fb++) {
		assert_int_equal(walk(&m, f, paths, 3, fb), 0);
		assert_int_equal(m->count, 3);
		e = get(m, "/loop1/x");
		assert_int_equal(e->type, RV_FT_UNKNOWN);
		assert_int_equal(e->err, ELOOP);
		e = get(m, "/self/x");
		assert_int_equal(e->type, RV_FT_UNKNOWN);
		assert_int_equal(e->err, ELOOP);
		e = get(m, "/loop1");
		assert_int_equal(e->type, RV_FT_SYMLINK);
		digest_of(e, "loop2", 5);
		rv_manifest_free(m);
		m = NULL;
	}

	/* 40 symlinks in one resolution are allowed, 41 are ELOOP (the
	 * kernel's MAXSYMLINKS, and the fallback's). c<i> -> c<i+1>, c40 -> d. */
	mkdirs(f, "d", 0755);
	for (i = 0; i < 41; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		if (i == 40)
			snprintf(target, sizeof(target), "d");
		else
			snprintf(target, sizeof(target), "c%d", i + 1);
		link_(f, name, target);
	}
	for (fb = 0; fb <= 1; fb++) {
		assert_int_equal(walk(&m, f, chain, 2, fb), 0);
		assert_int_equal(get(m, "/c1/x")->err, ENOENT); /* 40 links: resolved */
		assert_int_equal(get(m, "/c0/x")->err, ELOOP);  /* 41 */
		rv_manifest_free(m);
		m = NULL;
	}
}

static void test_missing_path(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/nope", "/app", "/app/nope/deeper" };
	const rv_manifest_entry *e;
	rv_manifest_stats st;
	rv_manifest *m = NULL;
	int fb;

	mkdirs(f, "app", 0755);
	puts_(f, "app/hello", "hello\n");
	for (fb = 0; fb <= 1; fb++) {
		assert_int_equal(walk(&m, f, paths, 3, fb), 0);
		e = get(m, "/nope");
		assert_int_equal(e->type, RV_FT_UNKNOWN);
		assert_int_equal(e->err, ENOENT);
		e = get(m, "/app/nope/deeper");
		assert_int_equal(e->type, RV_FT_UNKNOWN);
		assert_int_equal(e->err, ENOENT);
		hex_is(get(m, "/app/hello"), HELLO_SHA);
		rv_manifest_stats_get(&st, m);
		assert_int_equal(st.errors, 2);
		assert_int_equal(m->count, 4);
		rv_manifest_free(m);
		m = NULL;
	}
}

/* Root reads everything, so the unreadable cases run in a child that drops
 * to nobody and reports each entry as "path type err" lines on a pipe. */
static void test_unreadable(void **state)
{
	struct fx *f = *state;
	char buf[4096], p[4096];
	size_t got = 0;
	ssize_t n;
	int pfd[2], status;
	pid_t pid;
	const char *want =
		"/app dir 0 0\n"
		"/app/closed dir EACCES 0\n"
		"/app/nox dir 0 0\n"
		"/app/nox/f unknown EACCES 0\n"
		"/app/open.txt file 0 1\n"
		"/app/secret file EACCES 0\n"
		"errors 3\n";

	mkdirs(f, "app", 0755);
	put(f, "app/secret", "secret\n", 7, 0600);
	puts_(f, "app/open.txt", "hello\n");
	mkdirs(f, "app/closed", 0700);
	puts_(f, "app/closed/inside", "x");
	mkdirs(f, "app/nox", 0755);
	puts_(f, "app/nox/f", "x");
	pathf(p, sizeof(p), f, "app/nox");
	assert_int_equal(chmod(p, 0744), 0); /* readable, not searchable */

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *paths[] = { "/app" };
		rv_buf out = RV_BUF_INIT(1 << 16);
		rv_manifest_stats st;
		rv_manifest *m = NULL;
		size_t i;

		close(pfd[0]);
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		if (walk(&m, f, paths, 1, 0) < 0) {
			rv_buf_printf(&out, "walk failed: %s\n", rv_error_last());
		} else {
			for (i = 0; i < m->count; i++) {
				const rv_manifest_entry *e = &m->entries[i];
				const char *en = rv_errno_name(e->err);

				rv_buf_printf(&out, "%s %s %s %d\n", e->path,
					rv_manifest_type_name(e), e->err ? (en ? en : "?") : "0",
					e->has_digest);
			}
			rv_manifest_stats_get(&st, m);
			rv_buf_printf(&out, "errors %zu\n", st.errors);
		}
		if (write(pfd[1], out.ptr, out.len) != (ssize_t)out.len)
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(buf, want);
}

static void test_mounts(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app" };
	const rv_manifest_entry *e;
	rv_manifest *m = NULL;
	char mnt[4096], src[4096], dst[4096], p[4200];
	rv_walk_opts o;
	int rc;

	mkdirs(f, "app", 0755);
	mkdirs(f, "app/mnt", 0755);
	puts_(f, "app/mnt/hidden", "under the mount\n");
	puts_(f, "app/src", "bound\n");
	puts_(f, "app/dst", "original\n");
	pathf(mnt, sizeof(mnt), f, "app/mnt");
	pathf(src, sizeof(src), f, "app/src");
	pathf(dst, sizeof(dst), f, "app/dst");
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "mode=0711,uid=7,gid=8"), 0);
	snprintf(p, sizeof(p), "%s/on-tmpfs", mnt);
	assert_int_equal(close(open(p, O_WRONLY | O_CREAT, 0600)), 0);
	/* A file bind-mounted over a file on the same filesystem, as the
	 * runtime does with /etc/hosts: same st_dev, a mount all the same. */
	rc = mount(src, dst, "none", MS_BIND, NULL);
	if (rc < 0)
		umount2(mnt, MNT_DETACH);
	assert_int_equal(rc, 0);

	rc = walk(&m, f, paths, 1, 0);
	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.paths = paths;
	o.npaths = 1;
	o.cross_mounts = 1;
	if (rc == 0) {
		e = get(m, "/app/mnt");
		assert_int_equal(e->type, RV_FT_MOUNT);
		assert_int_equal(e->mode, 0711);
		assert_int_equal(e->uid, 7);
		assert_int_equal(e->gid, 8);
		absent(m, "/app/mnt/on-tmpfs");
		absent(m, "/app/mnt/hidden");
		e = get(m, "/app/dst");
		assert_int_equal(e->type, RV_FT_MOUNT);
		assert_false(e->has_digest);
		assert_int_equal(get(m, "/app/src")->type, RV_FT_FILE);
		assert_int_equal(m->count, 4);
		rv_manifest_free(m);
		m = NULL;
		rc = rv_walk(&m, &o);
	}
	umount2(dst, MNT_DETACH);
	umount2(mnt, MNT_DETACH);
	assert_int_equal(rc, 0);
	e = get(m, "/app/mnt");
	assert_int_equal(e->type, RV_FT_DIR);
	assert_int_equal(e->mode, 0711);
	e = get(m, "/app/mnt/on-tmpfs");
	assert_int_equal(e->type, RV_FT_FILE);
	hex_is(e, EMPTY_SHA);
	absent(m, "/app/mnt/hidden");
	digest_of(get(m, "/app/dst"), "bound\n", 6);
	rv_manifest_free(m);
}

/* Without statx (kernels before 4.11, or a seccomp filter that refuses
 * it) there is no STATX_ATTR_MOUNT_ROOT: a mount is another device, and a
 * file bind-mounted from the same device is not seen (docs/walker.md). */
static void test_mounts_no_statx(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app" };
	rv_manifest *m = NULL;
	char mnt[4096], src[4096], dst[4096];
	rv_walk_opts o;
	int rc;

	mkdirs(f, "app", 0755);
	mkdirs(f, "app/mnt", 0755);
	puts_(f, "app/src", "bound\n");
	puts_(f, "app/dst", "original\n");
	pathf(mnt, sizeof(mnt), f, "app/mnt");
	pathf(src, sizeof(src), f, "app/src");
	pathf(dst, sizeof(dst), f, "app/dst");
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "mode=0711"), 0);
	rc = mount(src, dst, "none", MS_BIND, NULL);
	if (rc == 0) {
		memset(&o, 0, sizeof(o));
		o.root = f->root;
		o.paths = paths;
		o.npaths = 1;
		o.no_statx = 1;
		rc = rv_walk(&m, &o);
	}
	unmount_all(f);
	assert_int_equal(rc, 0);
	assert_int_equal(get(m, "/app/mnt")->type, RV_FT_MOUNT);
	digest_of(get(m, "/app/dst"), "bound\n", 6);
	rv_manifest_free(m);
}

/* 3000 nested directories: paths far past PATH_MAX, more levels than the
 * fd limit the walk runs under. */
static void test_deep_tree(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/deep" };
	const rv_manifest_entry *e;
	struct rlimit old, low;
	rv_manifest *m = NULL;
	char p[4096], *bottom;
	int fd, nfd, i, depth = 3000, rc, fb;
	size_t want_len, off;

	mkdirs(f, "deep", 0755);
	pathf(p, sizeof(p), f, "deep");
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (i = 0; i < depth; i++) {
		assert_int_equal(mkdirat(fd, "dd", 0755), 0);
		/* A file beside every 100th level. */
		if (i % 100 == 0) {
			nfd = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			assert_true(nfd >= 0);
			close(nfd);
		}
		nfd = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(nfd >= 0);
		close(fd);
		fd = nfd;
	}
	nfd = openat(fd, "bottom", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(nfd >= 0);
	assert_int_equal(write(nfd, "hello\n", 6), 6);
	close(nfd);
	close(fd);

	want_len = strlen("/deep") + 3 * (size_t)depth + strlen("/bottom");
	assert_true(want_len > PATH_MAX);
	bottom = malloc(want_len + 1);
	assert_non_null(bottom);
	memcpy(bottom, "/deep", 5);
	for (off = 5, i = 0; i < depth; i++, off += 3)
		memcpy(bottom + off, "/dd", 3);
	memcpy(bottom + off, "/bottom", 8);

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 256;
	for (fb = 0; fb <= 1; fb++) {
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
		rc = walk(&m, f, paths, 1, fb);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
		assert_int_equal(rc, 0);
		assert_int_equal(m->count, 1 + (size_t)depth + (size_t)depth / 100 + 1);
		e = rv_manifest_find(m, bottom, want_len);
		assert_non_null(e);
		assert_int_equal(e->type, RV_FT_FILE);
		hex_is(e, HELLO_SHA);
		get(m, "/deep/f");
		for (i = 0; (size_t)i < m->count; i++)
			assert_int_equal(m->entries[i].err, 0);
		rv_manifest_free(m);
		m = NULL;
	}
	free(bottom);
}

static void test_long_and_odd_names(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app" };
	static const char *const odd[] = {
		"new\nline", "back\\slash", "bad\xff\xfe" "utf8", "caf\xc3\xa9",
		" lead space", "trail space ", ".hidden", "-dash", "tab\there",
		"\x01\x7f", "a*b?[c]", "%s%n",
	};
	const rv_manifest_entry *e;
	rv_manifest *m = NULL, *back = NULL;
	char name[256], rel[1024], full[1024], *bytes;
	unsigned char h1[RV_SHA256_LEN], h2[RV_SHA256_LEN];
	size_t i;

	mkdirs(f, "app", 0755);
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(rel, sizeof(rel), "app/%s", name);
	mkdirs(f, rel, 0755);
	snprintf(rel, sizeof(rel), "app/%s/%s", name, name);
	puts_(f, rel, "hello\n");
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(rel, sizeof(rel), "app/%s", odd[i]);
		puts_(f, rel, odd[i]);
	}
	assert_int_equal(walk(&m, f, paths, 1, 0), 0);
	assert_int_equal(m->count, 3 + sizeof(odd) / sizeof(odd[0]));
	snprintf(full, sizeof(full), "/app/%s/%s", name, name);
	hex_is(get(m, full), HELLO_SHA);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(full, sizeof(full), "/app/%s", odd[i]);
		e = get(m, full);
		assert_int_equal(e->type, RV_FT_FILE);
		digest_of(e, odd[i], strlen(odd[i]));
	}
	/* The manifest round-trips through its canonical form. */
	bytes = canon(m);
	assert_int_equal(rv_manifest_parse(&back, bytes, strlen(bytes)), 0);
	assert_int_equal(rv_manifest_root_hash(h1, m), 0);
	assert_int_equal(rv_manifest_root_hash(h2, back), 0);
	assert_memory_equal(h1, h2, RV_SHA256_LEN);
	free(bytes);
	rv_manifest_free(back);
	rv_manifest_free(m);
}

static void test_excludes(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app", "/other" };
	const char *ex[] = { "*.log", "/app/cache", "/other" };
	rv_manifest *m = NULL;
	rv_walk_opts o;

	mkdirs(f, "app", 0755);
	mkdirs(f, "app/cache", 0755);
	mkdirs(f, "app/sub", 0755);
	mkdirs(f, "other", 0755);
	puts_(f, "app/cache/x", "x");
	puts_(f, "app/a.log", "x");
	puts_(f, "app/sub/b.log", "x");
	puts_(f, "app/sub/keep", "x");
	puts_(f, "app/cachet", "x");
	puts_(f, "other/x", "x");
	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.paths = paths;
	o.npaths = 2;
	o.excludes = ex;
	o.nexcludes = 3;
	assert_int_equal(rv_walk(&m, &o), 0);
	get(m, "/app");
	get(m, "/app/sub");
	get(m, "/app/sub/keep");
	get(m, "/app/cachet");
	absent(m, "/app/cache");
	absent(m, "/app/cache/x");
	absent(m, "/app/a.log");
	absent(m, "/app/sub/b.log");
	absent(m, "/other");
	absent(m, "/other/x");
	assert_int_equal(m->count, 4);
	rv_manifest_free(m);

	ex[0] = "[bad";
	o.nexcludes = 1;
	assert_int_equal(rv_walk(&m, &o), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "'[bad'"));
	assert_null(m);
}

/* A mixed tree for the equivalence tests. */
static void build_mixed(const struct fx *f)
{
	static char big[600 * 1024];
	char rel[256];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 1000);
	mkdirs(f, "app", 0755);
	mkdirs(f, "real", 0755);
	mkdirs(f, "real/sub", 0750);
	link_(f, "lnk", "/real");
	put(f, "app/big", big, sizeof(big), 0644);
	put(f, "app/exactly-256k", big, 256 * 1024, 0644);
	put(f, "real/sub/elf", "\x7f" "ELF", 4, 0755);
	for (i = 0; i < 300; i++) {
		if (i % 30 == 0) {
			snprintf(rel, sizeof(rel), "app/d%zu", i / 30);
			mkdirs(f, rel, 0755);
		}
		snprintf(rel, sizeof(rel), "app/d%zu/f\n%zu", i / 30, i);
		put(f, rel, big + i, i * 97 % 5000, 0644);
	}
	link_(f, "app/d3/up", "../../lnk/sub");
}

static void test_fallback_identical(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app", "/lnk/sub", "/missing", "/lnk" };
	rv_manifest *a = NULL, *b = NULL;
	char *ca, *cb;

	build_mixed(f);
	assert_int_equal(walk(&a, f, paths, 4, 0), 0);
	assert_int_equal(walk(&b, f, paths, 4, 1), 0);
	get(a, "/lnk/sub/elf");
	assert_int_equal(get(a, "/lnk")->type, RV_FT_SYMLINK);
	assert_int_equal(get(a, "/missing")->err, ENOENT);
	ca = canon(a);
	cb = canon(b);
	assert_string_equal(ca, cb);
	free(ca);
	free(cb);
	rv_manifest_free(a);
	rv_manifest_free(b);
}

static const char *const rcomp[] = {
	"a", "b", "c", "..", ".", "l1", "l2", "l3", "l4", "f",
};

/* 1-4 random components from rcomp, maybe absolute. */
static void rnd_path(char *out, size_t n, int absolute, unsigned *seed)
{
	int k = 1 + (int)(rand_r(seed) % 4), i;
	size_t len = 0;

	if (absolute && rand_r(seed) % 2)
		out[len++] = '/';
	for (i = 0; i < k; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i ? "/" : "",
			rcomp[rand_r(seed) % 10]);
	out[len] = '\0';
}

/* Differential test of the fallback resolver: 200 trees of random
 * symlinks (relative, absolute, "..", ".", chains, loops, dangling) walked
 * from random configured paths must give byte-identical manifests with
 * openat2 and with the fallback. */
static void test_fallback_random_symlinks(void **state)
{
	static const char *const dirs[] = { "a", "a/b", "a/b/c", "b", "c", "a/c", "b/a" };
	static const char *const files[] = { "f", "a/f", "a/b/f", "b/f", "a/b/c/f" };
	static const char *const where[] = { "", "a/", "a/b/", "b/", "a/b/c/" };
	struct fx sub;
	char pb[6][256], t[256], l[256], *c[2];
	const char *paths[6];
	unsigned seed;
	size_t i;
	int fb, root, errs = 0;
	rv_manifest *m = NULL;
	rv_walk_opts o;

	for (seed = 1; seed <= 200; seed++) {
		unsigned r = seed;

		sub = *(struct fx *)*state;
		snprintf(sub.root, sizeof(sub.root), "%s/s%u", sub.tmp, seed);
		assert_int_equal(mkdir(sub.root, 0755), 0);
		root = open(sub.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(root >= 0);
		for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			assert_int_equal(mkdirat(root, dirs[i], 0755), 0);
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			close(openat(root, files[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
		for (i = 0; i < 12; i++) {
			rnd_path(t, sizeof(t), 1, &r);
			snprintf(l, sizeof(l), "%sl%u", where[rand_r(&r) % 5], 1 + rand_r(&r) % 4);
			symlinkat(t, root, l); /* EEXIST for a repeated name is fine */
		}
		close(root);
		for (i = 0; i < 6; i++) {
			do {
				pb[i][0] = '/';
				rnd_path(pb[i] + 1, sizeof(pb[i]) - 1, 0, &r);
			} while (rv_manifest_check_path(pb[i], strlen(pb[i])) < 0);
			paths[i] = pb[i];
		}
		for (fb = 0; fb <= 1; fb++) {
			memset(&o, 0, sizeof(o));
			o.root = sub.root;
			o.paths = paths;
			o.npaths = 6;
			o.threads = 1;
			o.no_openat2 = fb;
			assert_int_equal(rv_walk(&m, &o), 0);
			c[fb] = canon(m);
			for (i = 0; i < m->count; i++)
				errs += m->entries[i].err != 0;
			rv_manifest_free(m);
			m = NULL;
		}
		if (strcmp(c[0], c[1]) != 0)
			fail_msg("seed %u: openat2:\n%s\nfallback:\n%s", seed, c[0], c[1]);
		free(c[0]);
		free(c[1]);
	}
	/* The trees did exercise failing resolutions (ENOENT, ENOTDIR, ELOOP). */
	assert_true(errs > 100);
}

static void test_threads_identical(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app", "/real" };
	rv_manifest *m[3] = { NULL, NULL, NULL };
	rv_buf view = RV_BUF_INIT((size_t)1 << 24), ref = RV_BUF_INIT((size_t)1 << 24);
	char cmd[512], *c0, *c;
	rv_walk_opts o;
	FILE *p;
	size_t n, i;
	char chunk[4096];

	build_mixed(f);
	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.paths = paths;
	o.npaths = 2;
	for (i = 0; i < 3; i++) {
		o.threads = (int)i; /* 0 (one per CPU), 1, 2 */
		assert_int_equal(rv_walk(&m[i], &o), 0);
	}
	c0 = canon(m[0]);
	for (i = 1; i < 3; i++) {
		c = canon(m[i]);
		assert_string_equal(c0, c);
		free(c);
	}
	free(c0);
	assert_int_equal(get(m[0], "/real/sub/elf")->elf, 1);
	assert_int_equal(get(m[0], "/app/big")->size, 600 * 1024);

	/* The hashes are the ones sha256sum prints. */
	assert_int_equal(rv_manifest_sha256sum(&view, m[1], "/app"), 0);
	snprintf(cmd, sizeof(cmd), "cd '%s/app' && find . -type f -print0 | "
		"LC_ALL=C sort -z | xargs -0 sha256sum", f->root);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(rv_buf_add(&ref, chunk, n), 0);
	assert_int_equal(pclose(p), 0);
	assert_true(ref.len > 300 * 64);
	assert_string_equal(view.ptr, ref.ptr);
	rv_buf_dispose(&view);
	rv_buf_dispose(&ref);
	for (i = 0; i < 3; i++)
		rv_manifest_free(m[i]);
}

static void test_overlapping_paths(void **state)
{
	struct fx *f = *state;
	const char *one[] = { "/app" };
	const char *many[] = { "/app/sub", "/app", "/app/sub/x", "/app" };
	const char *via_link[] = { "/lnk/sub", "/lnk" };
	const char *with_root[] = { "/app", "/" };
	rv_manifest *a = NULL, *b = NULL;
	char *ca, *cb;

	build_mixed(f);
	mkdirs(f, "app/sub", 0755);
	puts_(f, "app/sub/x", "x");
	assert_int_equal(walk(&a, f, one, 1, 0), 0);
	assert_int_equal(walk(&b, f, many, 4, 0), 0);
	ca = canon(a);
	cb = canon(b);
	assert_string_equal(ca, cb);
	free(ca);
	free(cb);
	rv_manifest_free(a);
	rv_manifest_free(b);

	/* /lnk is recorded as a symlink; /lnk/sub goes through it. */
	assert_int_equal(walk(&a, f, via_link, 2, 0), 0);
	assert_int_equal(get(a, "/lnk")->type, RV_FT_SYMLINK);
	assert_int_equal(get(a, "/lnk/sub")->type, RV_FT_DIR);
	get(a, "/lnk/sub/elf");
	assert_int_equal(a->count, 3);
	rv_manifest_free(a);

	assert_int_equal(walk(&a, f, with_root, 2, 0), 0);
	assert_int_equal(walk(&b, f, NULL, 0, 0), 0);
	assert_int_equal(a->count, b->count);
	get(a, "/");
	rv_manifest_free(a);
	rv_manifest_free(b);
}

struct scribbler {
	const char *path;
	volatile int stop;
	int writes;
};

static void *scribble(void *arg)
{
	struct scribbler *s = arg;
	int fd = open(s->path, O_WRONLY | O_CLOEXEC);
	char c = 0;

	if (fd < 0)
		return NULL;
	while (!s->stop) {
		c++;
		if (pwrite(fd, &c, 1, 12345) == 1)
			s->writes++;
		usleep(100);
	}
	close(fd);
	return NULL;
}

/* A file written to while it is hashed gets err EAGAIN, not a digest. */
static void test_changing_file(void **state)
{
	struct fx *f = *state;
	const char *paths[] = { "/app" };
	struct scribbler s;
	const rv_manifest_entry *e;
	rv_manifest *m = NULL;
	pthread_t th;
	char p[4096];
	int fd, rc;

	mkdirs(f, "app", 0755);
	pathf(p, sizeof(p), f, "app/busy");
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 256 << 20), 0);
	close(fd);
	memset(&s, 0, sizeof(s));
	s.path = p;
	assert_int_equal(pthread_create(&th, NULL, scribble, &s), 0);
	while (s.writes < 10)
		usleep(1000);
	rc = walk(&m, f, paths, 1, 0);
	s.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(rc, 0);
	e = get(m, "/app/busy");
	assert_int_equal(e->type, RV_FT_FILE);
	assert_int_equal(e->err, EAGAIN);
	assert_false(e->has_digest);
	rv_manifest_free(m);
}

struct mover {
	char a[256], b[256];
	volatile int stop;
	int moves;
};

static void *move_back_and_forth(void *arg)
{
	struct mover *mv = arg;

	while (!mv->stop) {
		if (rename(mv->moves & 1 ? mv->b : mv->a, mv->moves & 1 ? mv->a : mv->b) == 0)
			mv->moves++;
		usleep(50);
	}
	return NULL;
}

/* A deep subtree moved to another parent while the walk is inside it,
 * deeper than the fd window: re-opening an ancestor through ".." finds
 * another directory, and the walk must say so (ESTALE on the abandoned
 * directories), never carry on somewhere else or record a path twice. */
static void test_tree_moved_under_walk(void **state)
{
	struct fx *f = *state;
	const rv_manifest_entry *e;
	struct mover mv;
	rv_manifest *m = NULL;
	pthread_t th;
	char p[4096];
	int fd, nfd, i, it, stale = 0, rc = 0;
	size_t k;

	mkdirs(f, "A", 0755);
	mkdirs(f, "B", 0755);
	mkdirs(f, "A/sub", 0755);
	pathf(p, sizeof(p), f, "A/sub");
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (i = 0; i < 300; i++) {
		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		nfd = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(nfd >= 0);
		close(nfd);
		nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(nfd >= 0);
		close(fd);
		fd = nfd;
	}
	close(fd);
	memset(&mv, 0, sizeof(mv));
	pathf(mv.a, sizeof(mv.a), f, "A/sub");
	pathf(mv.b, sizeof(mv.b), f, "B/sub");
	assert_int_equal(pthread_create(&th, NULL, move_back_and_forth, &mv), 0);
	for (it = 0; it < 400 && !stale && rc == 0; it++) {
		rc = walk(&m, f, NULL, 0, 0);
		if (rc < 0)
			break;
		for (k = 0; k < m->count; k++) {
			e = &m->entries[k];
			if (e->err == ESTALE) {
				assert_int_equal(e->type, RV_FT_DIR);
				stale++;
			}
		}
		rv_manifest_free(m);
		m = NULL;
	}
	mv.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(rc, 0);
	assert_true(mv.moves > 0);
	assert_true(stale > 0);
}

static void expect_bad(const struct fx *f, const char *root, const char *path,
	int code, const char *msg)
{
	const char *paths[] = { path };
	rv_manifest *m = (rv_manifest *)(uintptr_t)1;
	rv_walk_opts o;

	(void)f;
	memset(&o, 0, sizeof(o));
	o.root = root;
	o.paths = paths;
	o.npaths = path ? 1 : 0;
	assert_int_equal(rv_walk(&m, &o), code);
	assert_null(m);
	if (!strstr(rv_error_last(), msg))
		fail_msg("message '%s' does not hold '%s'", rv_error_last(), msg);
}

static void test_bad_opts(void **state)
{
	struct fx *f = *state;
	char missing[256], file[256];
	rv_manifest *m = NULL;
	rv_walk_opts o;

	puts_(f, "afile", "x");
	snprintf(missing, sizeof(missing), "%s/no-such-root", f->tmp);
	snprintf(file, sizeof(file), "%s/afile", f->root);
	expect_bad(f, f->root, "app", RV_EINVAL, "'app'");
	expect_bad(f, f->root, "/app/../etc", RV_EINVAL, "'/app/../etc'");
	expect_bad(f, f->root, "/app/./x", RV_EINVAL, "'/app/./x'");
	expect_bad(f, f->root, "/app//x", RV_EINVAL, "'/app//x'");
	expect_bad(f, f->root, "/app/", RV_EINVAL, "'/app/'");
	expect_bad(f, f->root, "", RV_EINVAL, "''");
	expect_bad(f, missing, NULL, RV_ENOTFOUND, missing);
	expect_bad(f, file, NULL, RV_EINVAL, file);
	expect_bad(f, file, NULL, RV_EINVAL, "not a directory");
	expect_bad(f, NULL, NULL, RV_EINVAL, "root");
	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.threads = -1;
	assert_int_equal(rv_walk(&m, &o), RV_EINVAL);
	assert_null(m);
}


/* --- rv_walk_dbs: the package databases of a whole root ----------------------- */

static int walk_dbs(rv_dbset **out, const struct fx *f, size_t max_bytes,
	size_t max_entries, size_t max_depth, size_t max_records)
{
	rv_walk_dbs_opts o;

	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.max_bytes = max_bytes;
	o.max_entries = max_entries;
	o.max_depth = max_depth;
	o.max_records = max_records;
	return rv_walk_dbs(out, &o);
}

/* The set as lines "PATH SIZE" or "PATH fail: MESSAGE", in order. */
static void dbs_lines(rv_buf *out, const rv_dbset *s)
{
	size_t i;

	rv_buf_init(out, 1 << 24);
	for (i = 0; i < s->n; i++) {
		if (s->files[i].error)
			assert_int_equal(rv_buf_printf(out, "%s fail: %s\n",
				s->files[i].path, s->files[i].error), 0);
		else
			assert_int_equal(rv_buf_printf(out, "%s %zu\n",
				s->files[i].path, s->files[i].size), 0);
	}
}

static void dbs_is(const rv_dbset *s, const char *want)
{
	rv_buf b;

	dbs_lines(&b, s);
	if (strcmp(b.ptr ? b.ptr : "", want))
		fail_msg("got:\n%s\nwanted:\n%s", b.ptr ? b.ptr : "", want);
	rv_buf_dispose(&b);
}

static void build_dbs_tree(const struct fx *f)
{
	static char big[(4u << 20) + 1];

	mkdirs(f, "etc", 0755);
	mkdirs(f, "usr", 0755);
	mkdirs(f, "usr/lib", 0755);
	mkdirs(f, "var", 0755);
	mkdirs(f, "var/lib", 0755);
	mkdirs(f, "var/lib/dpkg", 0755);
	mkdirs(f, "lib", 0755);
	mkdirs(f, "lib/apk", 0755);
	mkdirs(f, "lib/apk/db", 0755);
	mkdirs(f, "app", 0755);
	mkdirs(f, "app/node_modules", 0755);
	mkdirs(f, "app/node_modules/left-pad", 0755);
	mkdirs(f, "app/node_modules/left-pad/lib", 0755);
	mkdirs(f, "app/node_modules/@types", 0755);
	mkdirs(f, "app/node_modules/@types/node", 0755);
	mkdirs(f, "py", 0755);
	mkdirs(f, "py/six-1.0.dist-info", 0755);
	mkdirs(f, "py/huge-1.0.dist-info", 0755);
	mkdirs(f, "py/dir.egg-info", 0755);
	mkdirs(f, "opt", 0755);
	puts_(f, "var/lib/dpkg/status", "Package: a\nVersion: 1\n\n");
	puts_(f, "lib/apk/db/installed", "P:musl\nV:1.2\n\n");
	puts_(f, "usr/lib/os-release", "ID=debian\n");
	link_(f, "etc/os-release", "../usr/lib/os-release");
	puts_(f, "app/node_modules/left-pad/package.json", "{\"name\":\"left-pad\"}");
	puts_(f, "app/node_modules/left-pad/lib/package.json", "{}"); /* not wanted */
	puts_(f, "app/node_modules/@types/node/package.json", "{\"name\":\"@types/node\"}");
	puts_(f, "app/package.json", "{}");                             /* not wanted */
	puts_(f, "py/six-1.0.dist-info/METADATA", "Name: six\n");
	puts_(f, "py/dir.egg-info/PKG-INFO", "Name: dir\n");
	puts_(f, "py/file-2.0.egg-info", "Name: file\n");
	memset(big, 'x', sizeof(big));
	put(f, "py/huge-1.0.dist-info/METADATA", big, sizeof(big), 0644);
	puts_(f, "opt/unrelated", "x");
	/* never followed: a symlinked database dir, a symlinked database */
	link_(f, "opt/dpkg", "/var/lib/dpkg");
	mkdirs(f, "opt/node_modules", 0755);
	link_(f, "opt/node_modules/evil", "/app/node_modules/left-pad");
	mkdirs(f, "opt/node_modules/linked", 0755);
	link_(f, "opt/node_modules/linked/package.json", "/etc/shadow");
}

static void test_dbs_collect(void **state)
{
	struct fx *f = *state;
	rv_dbset *s = NULL, *again = NULL;
	const rv_dbset_file *r;
	rv_walk_dbs_opts o;
	rv_buf a, b;

	build_dbs_tree(f);
	assert_int_equal(walk_dbs(&s, f, 0, 0, 0, 0), 0);
	dbs_is(s,
		"/app/node_modules/@types/node/package.json 22\n"
		"/app/node_modules/left-pad/package.json 19\n"
		"/lib/apk/db/installed 14\n"
		"/py/dir.egg-info/PKG-INFO 10\n"
		"/py/file-2.0.egg-info 11\n"
		"/py/huge-1.0.dist-info/METADATA fail: larger than the limit of 4194304 bytes\n"
		"/py/six-1.0.dist-info/METADATA 10\n"
		"/usr/lib/os-release 10\n"
		"/var/lib/dpkg/status 23\n");
	r = rv_dbset_find(s, "/var/lib/dpkg/status", 20);
	assert_non_null(r);
	assert_memory_equal(r->data, "Package: a\nVersion: 1\n\n", 23);
	/* the fallback resolver gives the same bytes */
	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.no_openat2 = 1;
	assert_int_equal(rv_walk_dbs(&again, &o), 0);
	rv_buf_init(&a, 1 << 24);
	rv_buf_init(&b, 1 << 24);
	assert_int_equal(rv_dbset_serialize(&a, s), 0);
	assert_int_equal(rv_dbset_serialize(&b, again), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.ptr, b.ptr, a.len);
	rv_buf_dispose(&a);
	rv_buf_dispose(&b);
	rv_dbset_free(again);
	rv_dbset_free(s);
}

static void test_dbs_total_cap(void **state)
{
	struct fx *f = *state;
	rv_dbset *s = NULL;

	mkdirs(f, "node_modules", 0755);
	mkdirs(f, "node_modules/a", 0755);
	mkdirs(f, "node_modules/b", 0755);
	mkdirs(f, "node_modules/c", 0755);
	mkdirs(f, "node_modules/d", 0755);
	put(f, "node_modules/a/package.json", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 40, 0644);
	put(f, "node_modules/b/package.json", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 50, 0644);
	put(f, "node_modules/c/package.json", "cccccccccc", 10, 0644);
	put(f, "node_modules/d/package.json", "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", 60, 0644);
	/* 160 bytes in all, 100 allowed: the 60 goes, the rest stays */
	assert_int_equal(walk_dbs(&s, f, 100, 0, 0, 0), 0);
	dbs_is(s,
		"/node_modules/a/package.json 40\n"
		"/node_modules/b/package.json 50\n"
		"/node_modules/c/package.json 10\n"
		"/node_modules/d/package.json fail: dropped: over the probe's limit of 100 bytes for all package databases\n");
	rv_dbset_free(s);
	/* 45: a file over the total is never read; then 50 and 40 go */
	assert_int_equal(walk_dbs(&s, f, 45, 0, 0, 0), 0);
	assert_int_equal(s->bytes, 10);
	assert_int_equal(s->failed, 3);
	rv_dbset_free(s);
}

static void test_dbs_limits(void **state)
{
	struct fx *f = *state;
	rv_dbset *s = NULL;
	size_t i;

	mkdirs(f, "a", 0755);
	mkdirs(f, "a/b", 0755);
	mkdirs(f, "a/b/c", 0755);
	mkdirs(f, "a/b/c/node_modules", 0755);
	mkdirs(f, "a/b/c/node_modules/x", 0755);
	puts_(f, "a/b/c/node_modules/x/package.json", "{}");
	mkdirs(f, "node_modules", 0755);
	mkdirs(f, "node_modules/y", 0755);
	puts_(f, "node_modules/y/package.json", "{}");
	/* depth: /a/b/c is 3 levels below /, searched with 3, not with 2 */
	assert_int_equal(walk_dbs(&s, f, 0, 0, 5, 0), 0);
	dbs_is(s, "/a/b/c/node_modules/x/package.json 2\n/node_modules/y/package.json 2\n");
	rv_dbset_free(s);
	assert_int_equal(walk_dbs(&s, f, 0, 0, 2, 0), 0);
	dbs_is(s, "/a/b/c fail: directory not searched: deeper than 2 levels\n"
		"/node_modules/y/package.json 2\n");
	rv_dbset_free(s);
	/* entries: the walk stops; "/" and every directory it was in say so */
	assert_int_equal(walk_dbs(&s, f, 0, 3, 0, 0), 0);
	assert_non_null(rv_dbset_find(s, "/", 1));
	for (i = 0; i < s->n; i++)
		if (s->files[i].error && strstr(s->files[i].error, "limit"))
			assert_string_equal(s->files[i].error, "directory not searched "
				"to the end: the probe's limit of 3 directory entries");
	assert_string_equal(rv_dbset_find(s, "/", 1)->error, "directory not "
		"searched to the end: the probe's limit of 3 directory entries");
	rv_dbset_free(s);
	/* enough entries: no limit record */
	assert_int_equal(walk_dbs(&s, f, 0, 11, 0, 0), 0);
	assert_int_equal(s->failed, 0);
	rv_dbset_free(s);
	/* records */
	assert_int_equal(walk_dbs(&s, f, 0, 0, 0, 1), 0);
	assert_string_equal(rv_dbset_find(s, "/", 1)->error, "directory not "
		"searched to the end: the probe's limit of 1 records");
	assert_int_equal(s->n - s->failed, 1);
	rv_dbset_free(s);
}

static void test_dbs_mounts(void **state)
{
	struct fx *f = *state;
	rv_dbset *s = NULL;
	char p[4096], src[4096];
	int rc;

	mkdirs(f, "data", 0755);
	mkdirs(f, "proc", 0755);
	mkdirs(f, "dev", 0755);
	mkdirs(f, "dev/shm", 0755);
	mkdirs(f, "var", 0755);
	mkdirs(f, "var/lib", 0755);
	mkdirs(f, "var/lib/dpkg", 0755);
	puts_(f, "var/lib/dpkg/status", "image\n");
	puts_(f, "status.src", "mounted\n");
	pathf(p, sizeof(p), f, "data");
	assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=0755"), 0);
	pathf(p, sizeof(p), f, "data/node_modules");
	mkdir(p, 0755);
	pathf(p, sizeof(p), f, "data/node_modules/hidden");
	mkdir(p, 0755);
	pathf(p, sizeof(p), f, "data/node_modules/hidden/package.json");
	close(open(p, O_WRONLY | O_CREAT, 0644));
	pathf(p, sizeof(p), f, "proc");
	assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=0755"), 0);
	pathf(p, sizeof(p), f, "dev/shm");
	assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=0755"), 0);
	pathf(src, sizeof(src), f, "status.src");
	pathf(p, sizeof(p), f, "var/lib/dpkg/status");
	assert_int_equal(mount(src, p, "none", MS_BIND, NULL), 0);
	rc = walk_dbs(&s, f, 0, 0, 0, 0);
	if (rc == 0) {
		/* without statx: mounts by device alone; the bind-mounted
		 * file (same device) is read, the documented gap */
		rv_dbset *s2 = NULL;
		rv_walk_dbs_opts o;

		memset(&o, 0, sizeof(o));
		o.root = f->root;
		o.no_statx = 1;
		rc = rv_walk_dbs(&s2, &o);
		if (rc == 0)
			dbs_is(s2, "/data fail: mount point, not descended\n"
				"/var/lib/dpkg/status 8\n");
		rv_dbset_free(s2);
	}
	unmount_all(f);
	assert_int_equal(rc, 0);
	/* /data is recorded, /proc is not, /dev/shm is searched (empty); a
	 * bind-mounted file is a mount where the kernel says so (5.8+) */
	dbs_is(s, "/data fail: mount point, not descended\n"
		"/var/lib/dpkg/status fail: mount point, not read\n");
	rv_dbset_free(s);
}

/* Under /dev only /dev/shm is searched, and it is even though it is a
 * mount (a tmpfs any uid can write); /dev itself is entered when it is a
 * mount too (the runtime's tmpfs); mounts below /dev/shm are recorded. */
static void test_dbs_dev_shm(void **state)
{
	struct fx *f = *state;
	rv_dbset *s = NULL;
	char p[4096];
	int rc, round;

	for (round = 0; round < 2; round++) {
		/* round 0: /dev a plain directory; round 1: a tmpfs mount */
		mkdirs(f, "dev", 0755);
		if (round == 1) {
			pathf(p, sizeof(p), f, "dev");
			assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=0755"), 0);
		}
		mkdirs(f, "dev/shm", 01777);
		mkdirs(f, "dev/pts", 0755);
		mkdirs(f, "dev/other", 0755);
		mkdirs(f, "dev/other/x-1.0.dist-info", 0755);
		puts_(f, "dev/other/x-1.0.dist-info/METADATA", "Name: x\n");
		pathf(p, sizeof(p), f, "dev/shm");
		assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=01777"), 0);
		pathf(p, sizeof(p), f, "dev/pts");
		assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=0755"), 0);
		mkdirs(f, "dev/pts/y-1.0.dist-info", 0755);
		puts_(f, "dev/pts/y-1.0.dist-info/METADATA", "Name: y\n");
		/* pip install --target /dev/shm/x */
		mkdirs(f, "dev/shm/x", 0755);
		mkdirs(f, "dev/shm/x/evil-6.6.6.dist-info", 0755);
		puts_(f, "dev/shm/x/evil-6.6.6.dist-info/METADATA", "Name: evil\n");
		mkdirs(f, "dev/shm/vol", 0755);
		pathf(p, sizeof(p), f, "dev/shm/vol");
		assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=0755"), 0);
		rc = walk_dbs(&s, f, 0, 0, 0, 0);
		unmount_all(f);
		pathf(p, sizeof(p), f, "dev");
		if (round == 0) {
			char cmd[4200];

			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
			assert_int_equal(system(cmd), 0);
		} else {
			assert_int_equal(rmdir(p), 0);
		}
		assert_int_equal(rc, 0);
		dbs_is(s, "/dev/shm/vol fail: mount point, not descended\n"
			"/dev/shm/x/evil-6.6.6.dist-info/METADATA 11\n");
		rv_dbset_free(s);
		s = NULL;
	}
}

/* A race hook that changes the tree at the moments named in its table:
 * an entry deleted after it was listed is gone (no record); an entry
 * replaced by something else is still a record. */
struct race_step {
	rv_walk_race at;
	const char *when;  /* the path the hook is called with */
	const char *what;  /* rm -rf this (relative to root) ... */
	int to_file;       /* ... and put a file in its place */
	int done;
};

struct race_fx {
	const struct fx *f;
	struct race_step *steps;
	size_t n;
};

static void race_hook(void *arg, rv_walk_race at, const char *path, size_t len)
{
	struct race_fx *r = arg;
	char cmd[8400], p[4096];
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct race_step *st = &r->steps[i];

		if (st->done || st->at != at || strlen(st->when) != len ||
		    memcmp(st->when, path, len))
			continue;
		st->done = 1;
		pathf(p, sizeof(p), r->f, st->what);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
		assert_int_equal(system(cmd), 0);
		if (st->to_file)
			puts_(r->f, st->what, "now a file\n");
	}
}

static void test_dbs_gone(void **state)
{
	struct fx *f = *state;
	struct race_step steps[] = {
		/* gone before statx: a directory, a wanted file */
		{ RV_WALK_RACE_LISTED, "/t", "t/a-dir", 0, 0 },
		{ RV_WALK_RACE_LISTED, "/t/node_modules/x", "t/node_modules/x/package.json", 0, 0 },
		/* gone before open: a directory, a wanted file */
		{ RV_WALK_RACE_ENTER, "/t/b-dir", "t/b-dir", 0, 0 },
		{ RV_WALK_RACE_READ, "/t/node_modules/y/package.json",
			"t/node_modules/y/package.json", 0, 0 },
		/* replaced by a file before open: ENOTDIR stays a record */
		{ RV_WALK_RACE_ENTER, "/t/c-dir", "t/c-dir", 1, 0 },
	};
	struct race_fx r = { f, steps, sizeof(steps) / sizeof(steps[0]) };
	rv_walk_dbs_opts o;
	rv_dbset *s = NULL;
	size_t i;

	mkdirs(f, "t", 0755);
	mkdirs(f, "t/a-dir", 0755);
	mkdirs(f, "t/a-dir/node_modules", 0755);
	mkdirs(f, "t/b-dir", 0755);
	mkdirs(f, "t/b-dir/node_modules", 0755);
	mkdirs(f, "t/c-dir", 0755);
	mkdirs(f, "t/node_modules", 0755);
	mkdirs(f, "t/node_modules/x", 0755);
	mkdirs(f, "t/node_modules/y", 0755);
	mkdirs(f, "t/node_modules/z", 0755);
	puts_(f, "t/node_modules/x/package.json", "{}");
	puts_(f, "t/node_modules/y/package.json", "{}");
	puts_(f, "t/node_modules/z/package.json", "{}");
	memset(&o, 0, sizeof(o));
	o.root = f->root;
	o.race = race_hook;
	o.race_arg = &r;
	assert_int_equal(rv_walk_dbs(&s, &o), 0);
	for (i = 0; i < r.n; i++)
		if (!steps[i].done)
			fail_msg("race step %zu (%s) never ran", i, steps[i].what);
	dbs_is(s, "/t/c-dir fail: directory not searched: ENOTDIR\n"
		"/t/node_modules/z/package.json 2\n");
	rv_dbset_free(s);
}

/* As uid 65534: a 0600 database, a 0700 directory, a directory without
 * search permission. */
static void test_dbs_unreadable(void **state)
{
	struct fx *f = *state;
	char buf[4096], p[4096];
	size_t got = 0;
	ssize_t n;
	int pfd[2], status;
	pid_t pid;

	mkdirs(f, "var", 0755);
	mkdirs(f, "var/lib", 0755);
	mkdirs(f, "var/lib/dpkg", 0755);
	put(f, "var/lib/dpkg/status", "secret\n", 7, 0600);
	mkdirs(f, "closed", 0700);
	mkdirs(f, "nox", 0755);
	mkdirs(f, "nox/sub", 0755);
	puts_(f, "nox/plain", "x");
	pathf(p, sizeof(p), f, "nox");
	assert_int_equal(chmod(p, 0744), 0);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rv_dbset *s = NULL;
		rv_buf out;

		close(pfd[0]);
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		if (walk_dbs(&s, f, 0, 0, 0, 0) < 0)
			_exit(5);
		dbs_lines(&out, s);
		if (write(pfd[1], out.ptr, out.len) != (ssize_t)out.len)
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* nox/plain is a regular file nobody wants: not stat'ed, no record */
	assert_string_equal(buf,
		"/closed fail: directory not searched: EACCES\n"
		"/nox/sub fail: cannot stat: EACCES\n"
		"/var/lib/dpkg/status fail: cannot read: EACCES\n");
}

static void test_dbs_bad_opts(void **state)
{
	struct fx *f = *state;
	rv_walk_dbs_opts o;
	rv_dbset *s = (rv_dbset *)1;
	char p[4200];

	memset(&o, 0, sizeof(o));
	assert_int_equal(rv_walk_dbs(&s, &o), RV_EINVAL);
	assert_null(s);
	snprintf(p, sizeof(p), "%s/nope", f->tmp);
	o.root = p;
	assert_int_equal(rv_walk_dbs(&s, &o), RV_ENOTFOUND);
	assert_non_null(strstr(rv_error_last(), "nope"));
	o.root = f->root;
	o.max_bytes = (1ull << 40);
	assert_int_equal(rv_walk_dbs(&s, &o), RV_EINVAL);
	assert_null(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_types_and_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_paths_is_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_last_component, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_intermediate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mounts_no_statx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_and_odd_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_excludes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback_random_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlapping_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_moved_under_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_opts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbs_collect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbs_total_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbs_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbs_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbs_dev_shm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbs_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbs_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dbs_bad_opts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
