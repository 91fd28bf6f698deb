/* kube.c - a small Kubernetes API client on libcurl and jansson */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sources/kube/kube.h"
#include "sources/yaml/yaml.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/json.h"
#include "util/banned.h"

extern char **environ;

#define DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define TOKEN_REREAD_SECONDS 60
#define MAX_CONFIG_FILE (16u << 20)
#define MAX_TOKEN (64u << 10)
#define MAX_EXEC_OUTPUT (1u << 20)
#define EXEC_TIMEOUT_MS 30000
#define WATCH_MAX_MS (15L * 60 * 1000)

typedef struct exec_cfg {
	char *command;
	char **args;      /* NULL-terminated */
	char **env;       /* "NAME=VALUE", NULL-terminated */
	char *api_version;
} exec_cfg;

struct rv_kube {
	char *server;
	char *namespace;
	int insecure;
	char *ca_file;
	rv_buf ca_data;        /* PEM bytes */
	char *cert_file, *key_file;
	rv_buf cert_data, key_data;
	exec_cfg *exec;

	pthread_mutex_t lock;  /* guards everything below */
	char *token;           /* current bearer token, wiped on free */
	char *token_file;      /* re-read every TOKEN_REREAD_SECONDS */
	time_t token_read_at;
	time_t token_expires;  /* exec credentials; 0: no expiry */
	rv_buf exec_cert, exec_key;
	double tokens;         /* rate limiter bucket */
	struct timespec refill;
	unsigned long requests;

	double qps;
	int burst;
	long timeout_ms;
	int max_retries;
	size_t max_body;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void wipe_buf(rv_buf *b)
{
	if (b->ptr)
		explicit_bzero(b->ptr, b->cap);
	rv_buf_dispose(b);
}

static void strv_free(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

static void exec_free(exec_cfg *e)
{
	if (!e)
		return;
	free(e->command);
	strv_free(e->args);
	strv_free(e->env);
	free(e->api_version);
	free(e);
}

void rv_kube_free(rv_kube *k)
{
	int i;

	if (!k)
		return;
	if (k->share)
		curl_share_cleanup(k->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&k->share_locks[i]);
	pthread_mutex_destroy(&k->lock);
	free(k->server);
	free(k->namespace);
	free(k->ca_file);
	rv_buf_dispose(&k->ca_data);
	free(k->cert_file);
	free(k->key_file);
	rv_buf_dispose(&k->cert_data);
	wipe_buf(&k->key_data);
	exec_free(k->exec);
	wipe_free(k->token);
	free(k->token_file);
	rv_buf_dispose(&k->exec_cert);
	wipe_buf(&k->exec_key);
	free(k);
}

const char *rv_kube_server(const rv_kube *k)
{
	return k->server;
}

const char *rv_kube_namespace(const rv_kube *k)
{
	return k->namespace ? k->namespace : "default";
}

int rv_kube_insecure(const rv_kube *k)
{
	return k->insecure;
}

unsigned long rv_kube_request_count(const rv_kube *k)
{
	unsigned long n;

	pthread_mutex_lock((pthread_mutex_t *)&k->lock);
	n = k->requests;
	pthread_mutex_unlock((pthread_mutex_t *)&k->lock);
	return n;
}

/* --- small file helpers --------------------------------------------------- */

static int read_file(rv_buf *out, const char *path, size_t max, const char *what)
{
	char chunk[16384];
	ssize_t n;
	int fd, rc = RV_OK;

	rv_buf_reset(out);
	out->max = max;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rv_error_setsys(errno == ENOENT ? RV_ENOTFOUND : RV_EIO, errno,
			"cannot open %s '%s'", what, path);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = rv_error_setsys(RV_EIO, errno, "cannot read %s '%s'", what, path);
			break;
		}
		if (n == 0)
			break;
		if ((rc = rv_buf_add(out, chunk, (size_t)n)) < 0) {
			rv_error_prefix(rc, "%s '%s'", what, path);
			break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	return rc;
}

/* Resolve a path from a kubeconfig relative to the kubeconfig's directory. */
static char *resolve_path(const char *dir, const char *path)
{
	rv_buf b = RV_BUF_INIT(PATH_MAX * 4);

	if (path[0] == '/' || !dir)
		return strdup(path);
	if (rv_buf_printf(&b, "%s/%s", dir, path) < 0) {
		rv_buf_dispose(&b);
		return NULL;
	}
	return rv_buf_detach(&b, NULL);
}

static int base64_decode(rv_buf *out, const char *in, const char *what)
{
	int rc;

	rv_buf_reset(out);
	if ((rc = rv_base64_decode(out, in, strlen(in), RV_BASE64_LENIENT)) < 0)
		rv_error_set(rc, "%s is not valid base64", what);
	return rc;
}

/* --- kubeconfig ----------------------------------------------------------- */

static json_t *named(json_t *list, const char *name, const char *field)
{
	size_t i;
	json_t *item;

	if (!json_is_array(list))
		return NULL;
	json_array_foreach(list, i, item) {
		const char *n = json_string_value(json_object_get(item, "name"));

		if (n && !strcmp(n, name))
			return json_object_get(item, field);
	}
	return NULL;
}

static int dup_field(char **out, json_t *obj, const char *key)
{
	const char *v = rv_json_str(obj, key);

	*out = NULL;
	if (!v || !*v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : rv_error_set(RV_ENOMEM, "out of memory");
}

static int load_exec(rv_kube *k, json_t *e, const char *dir, const char *file)
{
	exec_cfg *x = calloc(1, sizeof(*x));
	json_t *args = json_object_get(e, "args"), *env = json_object_get(e, "env"), *v;
	const char *cmd = rv_json_str(e, "command"), *api = rv_json_str(e, "apiVersion");
	size_t i, n;
	int rc = RV_ENOMEM;

	if (!x)
		return rv_error_set(RV_ENOMEM, "out of memory");
	if (!cmd || !*cmd) {
		rc = rv_error_set(RV_EINVAL, "kubeconfig '%s': exec has no command", file);
		goto cleanup;
	}
	if (!api || (strcmp(api, "client.authentication.k8s.io/v1") &&
		     strcmp(api, "client.authentication.k8s.io/v1beta1"))) {
		rc = rv_error_set(RV_EUNSUPPORTED,
			"kubeconfig '%s': exec apiVersion '%s' is not supported (use client.authentication.k8s.io/v1)",
			file, api ? api : "");
		goto cleanup;
	}
	x->command = strchr(cmd, '/') ? resolve_path(dir, cmd) : strdup(cmd);
	x->api_version = strdup(api);
	n = json_is_array(args) ? json_array_size(args) : 0;
	x->args = calloc(n + 2, sizeof(char *));
	if (!x->command || !x->api_version || !x->args)
		goto cleanup;
	if (!(x->args[0] = strdup(cmd)))
		goto cleanup;
	for (i = 0; i < n; i++) {
		const char *a = json_string_value(json_array_get(args, i));

		if (!a) {
			rc = rv_error_set(RV_EINVAL, "kubeconfig '%s': exec args must be strings", file);
			goto cleanup;
		}
		if (!(x->args[i + 1] = strdup(a)))
			goto cleanup;
	}
	n = json_is_array(env) ? json_array_size(env) : 0;
	x->env = calloc(n + 1, sizeof(char *));
	if (!x->env)
		goto cleanup;
	json_array_foreach(env, i, v) {
		const char *name = rv_json_str(v, "name"), *value = rv_json_str(v, "value");
		rv_buf b = RV_BUF_INIT(1 << 20);

		if (!name || !value || strchr(name, '=')) {
			rc = rv_error_set(RV_EINVAL, "kubeconfig '%s': exec env entries need a name and a value", file);
			goto cleanup;
		}
		if (rv_buf_printf(&b, "%s=%s", name, value) < 0) {
			rv_buf_dispose(&b);
			goto cleanup;
		}
		x->env[i] = rv_buf_detach(&b, NULL);
	}
	k->exec = x;
	return RV_OK;
cleanup:
	exec_free(x);
	return rc == RV_ENOMEM ? rv_error_set(RV_ENOMEM, "out of memory") : rc;
}

static int load_kubeconfig(rv_kube *k, const char *file, const char *context)
{
	rv_buf data = RV_BUF_INIT(MAX_CONFIG_FILE);
	json_t *root = NULL, *ctx, *cluster, *user;
	const char *ctxname, *clname, *uname, *v;
	char what[PATH_MAX + 32], *dir = NULL, *slash;
	int rc;

	if ((rc = read_file(&data, file, MAX_CONFIG_FILE, "kubeconfig")) < 0)
		goto cleanup;
	snprintf(what, sizeof(what), "kubeconfig '%s'", file);
	if ((rc = rv_yaml_load(&root, data.ptr ? data.ptr : "", data.len, what)) < 0)
		goto cleanup;
	if (!json_is_object(root)) {
		rc = rv_error_set(RV_EFORMAT, "%s is not a mapping", what);
		goto cleanup;
	}
	dir = strdup(file);
	if (!dir) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else {
		free(dir);
		dir = strdup(".");
	}
	ctxname = context ? context : rv_json_str(root, "current-context");
	if (!ctxname || !*ctxname) {
		rc = rv_error_set(RV_EINVAL, "%s has no current-context (use --context)", what);
		goto cleanup;
	}
	ctx = named(json_object_get(root, "contexts"), ctxname, "context");
	if (!json_is_object(ctx)) {
		rc = rv_error_set(RV_ENOTFOUND, "%s has no context '%s'", what, ctxname);
		goto cleanup;
	}
	clname = rv_json_str(ctx, "cluster");
	if (!clname) {
		rc = rv_error_set(RV_EINVAL, "%s: context '%s' has no cluster", what, ctxname);
		goto cleanup;
	}
	cluster = named(json_object_get(root, "clusters"), clname, "cluster");
	if (!json_is_object(cluster)) {
		rc = rv_error_set(RV_ENOTFOUND, "%s has no cluster '%s'", what, clname);
		goto cleanup;
	}
	if ((rc = dup_field(&k->server, cluster, "server")) < 0)
		goto cleanup;
	if (!k->server) {
		rc = rv_error_set(RV_EINVAL, "%s: cluster '%s' has no server", what, clname);
		goto cleanup;
	}
	if (strncmp(k->server, "https://", 8) && strncmp(k->server, "http://", 7)) {
		rc = rv_error_set(RV_EINVAL, "%s: cluster '%s' server '%s' is not an http(s) URL",
			what, clname, k->server);
		goto cleanup;
	}
	k->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
	if ((v = rv_json_str(cluster, "certificate-authority-data")) && *v) {
		if ((rc = base64_decode(&k->ca_data, v, "certificate-authority-data")) < 0)
			goto cleanup;
	} else if ((v = rv_json_str(cluster, "certificate-authority")) && *v) {
		if (!(k->ca_file = resolve_path(dir, v))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if ((rc = dup_field(&k->namespace, ctx, "namespace")) < 0)
		goto cleanup;

	uname = rv_json_str(ctx, "user");
	user = uname ? named(json_object_get(root, "users"), uname, "user") : NULL;
	if (uname && !json_is_object(user)) {
		rc = rv_error_set(RV_ENOTFOUND, "%s has no user '%s'", what, uname);
		goto cleanup;
	}
	if (!user)
		goto done;
	if ((rc = dup_field(&k->token, user, "token")) < 0)
		goto cleanup;
	if (!k->token && (v = rv_json_str(user, "tokenFile")) && *v) {
		if (!(k->token_file = resolve_path(dir, v))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if ((v = rv_json_str(user, "client-certificate-data")) && *v) {
		if ((rc = base64_decode(&k->cert_data, v, "client-certificate-data")) < 0)
			goto cleanup;
	} else if ((v = rv_json_str(user, "client-certificate")) && *v) {
		if (!(k->cert_file = resolve_path(dir, v))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if ((v = rv_json_str(user, "client-key-data")) && *v) {
		if ((rc = base64_decode(&k->key_data, v, "client-key-data")) < 0)
			goto cleanup;
	} else if ((v = rv_json_str(user, "client-key")) && *v) {
		if (!(k->key_file = resolve_path(dir, v))) {
			rc = rv_error_set(RV_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if ((k->cert_file || k->cert_data.len) != (k->key_file || k->key_data.len)) {
		rc = rv_error_set(RV_EINVAL, "%s: user '%s' has a client certificate without a key, or a key without a certificate",
			what, uname);
		goto cleanup;
	}
	if (json_is_object(json_object_get(user, "exec")) &&
	    (rc = load_exec(k, json_object_get(user, "exec"), dir, file)) < 0)
		goto cleanup;
	if (json_object_get(user, "auth-provider")) {
		rc = rv_error_set(RV_EUNSUPPORTED, "%s: user '%s' uses an auth-provider, which is not supported (use exec)",
			what, uname);
		goto cleanup;
	}
done:
	rc = RV_OK;
cleanup:
	free(dir);
	json_decref(root);
	wipe_buf(&data);
	return rc;
}

static int load_in_cluster(rv_kube *k, const char *sa_dir)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	rv_buf b = RV_BUF_INIT(4096), ns = RV_BUF_INIT(1024);
	int rc;

	if (!host || !*host || !port || !*port)
		return rv_error_set(RV_ENOTFOUND,
			"no kubeconfig found and not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)");
	if ((rc = rv_buf_printf(&b, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
			host, port)) < 0)
		goto cleanup;
	k->server = rv_buf_detach(&b, NULL);
	if ((rc = rv_buf_printf(&b, "%s/token", sa_dir)) < 0)
		goto cleanup;
	k->token_file = rv_buf_detach(&b, NULL);
	if ((rc = rv_buf_printf(&b, "%s/ca.crt", sa_dir)) < 0)
		goto cleanup;
	k->ca_file = rv_buf_detach(&b, NULL);
	if ((rc = rv_buf_printf(&b, "%s/namespace", sa_dir)) < 0)
		goto cleanup;
	if (read_file(&ns, b.ptr, 1024, "service-account namespace") == RV_OK && ns.len) {
		while (ns.len && (ns.ptr[ns.len - 1] == '\n' || ns.ptr[ns.len - 1] == ' '))
			ns.ptr[--ns.len] = '\0';
		k->namespace = rv_buf_detach(&ns, NULL);
	}
	rc = k->server && k->token_file && k->ca_file ? RV_OK
		: rv_error_set(RV_ENOMEM, "out of memory");
cleanup:
	rv_buf_dispose(&b);
	rv_buf_dispose(&ns);
	return rc;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *p)
{
	rv_kube *k = p;

	(void)h;
	(void)a;
	pthread_mutex_lock(&k->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *p)
{
	rv_kube *k = p;

	(void)h;
	pthread_mutex_unlock(&k->share_locks[data]);
}

int rv_kube_new(rv_kube **out, const rv_kube_opts *opts)
{
	rv_kube *k = NULL;
	const char *file = opts->kubeconfig, *env, *home;
	rv_buf path = RV_BUF_INIT(PATH_MAX);
	struct stat st;
	int rc, i;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return rv_error_set(RV_ERROR, "libcurl initialisation failed: %s",
			curl_easy_strerror(curl_init_rc));
	k = calloc(1, sizeof(*k));
	if (!k)
		return rv_error_set(RV_ENOMEM, "out of memory");
	pthread_mutex_init(&k->lock, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&k->share_locks[i], NULL);
	rv_buf_init(&k->ca_data, 1 << 20);
	rv_buf_init(&k->cert_data, 1 << 20);
	rv_buf_init(&k->key_data, 1 << 20);
	rv_buf_init(&k->exec_cert, 1 << 20);
	rv_buf_init(&k->exec_key, 1 << 20);
	k->qps = opts->qps > 0 ? opts->qps : 20;
	k->burst = opts->burst > 0 ? opts->burst : 40;
	k->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
	k->max_retries = opts->max_retries > 0 ? opts->max_retries : opts->max_retries < 0 ? 0 : 5;
	k->max_body = opts->max_body ? opts->max_body : 64u << 20;
	k->tokens = k->burst;
	clock_gettime(CLOCK_MONOTONIC, &k->refill);

	if (!file && !opts->in_cluster && (env = getenv("KUBECONFIG")) && *env) {
		const char *colon = strchr(env, ':');

		if ((rc = rv_buf_add(&path, env, colon ? (size_t)(colon - env) : strlen(env))) < 0)
			goto cleanup;
		file = path.ptr;
	}
	if (!file && !opts->in_cluster && (home = getenv("HOME")) && *home) {
		if ((rc = rv_buf_printf(&path, "%s/.kube/config", home)) < 0)
			goto cleanup;
		if (stat(path.ptr, &st) == 0)
			file = path.ptr;
	}
	if (file)
		rc = load_kubeconfig(k, file, opts->context);
	else
		rc = load_in_cluster(k, opts->sa_dir ? opts->sa_dir : DEFAULT_SA_DIR);
	if (rc < 0)
		goto cleanup;
	k->share = curl_share_init();
	if (!k->share) {
		rc = rv_error_set(RV_ENOMEM, "out of memory for a curl share");
		goto cleanup;
	}
	curl_share_setopt(k->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(k->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(k->share, CURLSHOPT_USERDATA, k);
	curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(k->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = k;
	k = NULL;
	rc = RV_OK;
cleanup:
	rv_buf_dispose(&path);
	rv_kube_free(k);
	return rc;
}

/* --- credentials ---------------------------------------------------------- */

/* Parse an RFC 3339 UTC timestamp ("2026-11-22T13:00:00Z"); 0 if absent. */
static time_t parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return 0;
	return timegm(&tm);
}

/* Run the exec plugin and take its ExecCredential. Called with k->lock held. */
static int run_exec(rv_kube *k)
{
	exec_cfg *x = k->exec;
	rv_buf outb = RV_BUF_INIT(MAX_EXEC_OUTPUT), infob = RV_BUF_INIT(4096);
	char **envp = NULL, buf[8192];
	posix_spawn_file_actions_t fa;
	int pipefd[2] = { -1, -1 }, devnull = -1, status, rc, fa_init = 0;
	size_t nenv = 0, i, j;
	pid_t pid = -1;
	json_t *cred = NULL, *st;
	const char *tok, *cert, *key, *kind, *api;
	struct timespec start, now;

	for (nenv = 0; environ[nenv]; nenv++)
		;
	for (i = 0; x->env[i]; i++)
		nenv++;
	envp = calloc(nenv + 2, sizeof(char *));
	if (!envp)
		return rv_error_set(RV_ENOMEM, "out of memory");
	for (i = j = 0; environ[i]; i++)
		if (strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21))
			envp[j++] = environ[i];
	for (i = 0; x->env[i]; i++)
		envp[j++] = x->env[i];
	if ((rc = rv_buf_printf(&infob,
			"KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}",
			x->api_version)) < 0)
		goto cleanup;
	envp[j++] = infob.ptr;
	envp[j] = NULL;
	if (pipe2(pipefd, O_CLOEXEC) < 0 || (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = rv_error_setsys(RV_EIO, errno, "exec credential plugin '%s'", x->command);
		goto cleanup;
	}
	posix_spawn_file_actions_init(&fa);
	fa_init = 1;
	posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	rc = posix_spawnp(&pid, x->command, &fa, NULL, x->args, envp);
	if (rc != 0) {
		pid = -1;
		rc = rv_error_setsys(RV_EIO, rc, "cannot run exec credential plugin '%s'", x->command);
		goto cleanup;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = EXEC_TIMEOUT_MS - ((now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			rc = rv_error_set(RV_ETIMEOUT, "exec credential plugin '%s' did not answer within %d s",
				x->command, EXEC_TIMEOUT_MS / 1000);
			goto cleanup;
		}
		n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		if ((rc = rv_buf_add(&outb, buf, (size_t)n)) < 0) {
			rv_error_prefix(rc, "exec credential plugin '%s' output", x->command);
			goto cleanup;
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = rv_error_set(RV_EAUTH, "exec credential plugin '%s' failed (status %d)",
			x->command, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto cleanup;
	}
	cred = json_loadb(outb.ptr ? outb.ptr : "", outb.len, 0, NULL);
	kind = rv_json_str(cred, "kind");
	api = rv_json_str(cred, "apiVersion");
	st = json_object_get(cred, "status");
	if (!json_is_object(cred) || !kind || strcmp(kind, "ExecCredential") || !api ||
	    strcmp(api, x->api_version) || !json_is_object(st)) {
		rc = rv_error_set(RV_EFORMAT,
			"exec credential plugin '%s' did not print an ExecCredential of %s",
			x->command, x->api_version);
		goto cleanup;
	}
	tok = rv_json_str(st, "token");
	cert = rv_json_str(st, "clientCertificateData");
	key = rv_json_str(st, "clientKeyData");
	if (!(tok && *tok) && !(cert && key)) {
		rc = rv_error_set(RV_EFORMAT,
			"exec credential plugin '%s' gave neither a token nor a client certificate",
			x->command);
		goto cleanup;
	}
	wipe_free(k->token);
	k->token = NULL;
	if (tok && *tok && !(k->token = strdup(tok))) {
		rc = rv_error_set(RV_ENOMEM, "out of memory");
		goto cleanup;
	}
	rv_buf_reset(&k->exec_cert);
	wipe_buf(&k->exec_key);
	rv_buf_init(&k->exec_key, 1 << 20);
	if (cert && key && ((rc = rv_buf_puts(&k->exec_cert, cert)) < 0 ||
			    (rc = rv_buf_puts(&k->exec_key, key)) < 0))
		goto cleanup;
	k->token_expires = parse_time(rv_json_str(st, "expirationTimestamp"));
	if (!k->token_expires)
		k->token_expires = (time_t)-1; /* valid until a 401 */
	rc = RV_OK;
cleanup:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	json_decref(cred);
	wipe_buf(&outb);
	rv_buf_dispose(&infob);
	explicit_bzero(buf, sizeof(buf));
	free(envp);
	return rc;
}

/* Make sure the current credentials are fresh. Called with k->lock held.
 * force: the server said 401, so re-read or re-run whatever we can. */
static int refresh_credentials(rv_kube *k, int force)
{
	time_t now = time(NULL);
	rv_buf b = RV_BUF_INIT(MAX_TOKEN);
	int rc;

	if (k->token_file && (force || !k->token ||
			      now - k->token_read_at >= TOKEN_REREAD_SECONDS)) {
		if ((rc = read_file(&b, k->token_file, MAX_TOKEN, "token file")) < 0) {
			wipe_buf(&b);
			return rc;
		}
		while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r' ||
				 b.ptr[b.len - 1] == ' '))
			b.ptr[--b.len] = '\0';
		if (!b.len) {
			wipe_buf(&b);
			return rv_error_set(RV_EAUTH, "token file '%s' is empty", k->token_file);
		}
		wipe_free(k->token);
		k->token = rv_buf_detach(&b, NULL);
		k->token_read_at = now;
		return k->token ? RV_OK : rv_error_set(RV_ENOMEM, "out of memory");
	}
	if (k->exec && (force || k->token_expires == 0 ||
			(k->token_expires != (time_t)-1 && now >= k->token_expires - 10)))
		return run_exec(k);
	return RV_OK;
}

/* --- rate limit and backoff ------------------------------------------------ */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Take one token from the bucket, sleeping until one is there. */
static void rate_limit(rv_kube *k)
{
	for (;;) {
		struct timespec now;
		double elapsed, wait_s;

		pthread_mutex_lock(&k->lock);
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (double)(now.tv_sec - k->refill.tv_sec) +
			(double)(now.tv_nsec - k->refill.tv_nsec) / 1e9;
		k->refill = now;
		k->tokens += elapsed * k->qps;
		if (k->tokens > k->burst)
			k->tokens = k->burst;
		if (k->tokens >= 1) {
			k->tokens -= 1;
			k->requests++;
			pthread_mutex_unlock(&k->lock);
			return;
		}
		wait_s = (1 - k->tokens) / k->qps;
		pthread_mutex_unlock(&k->lock);
		sleep_ms((long)(wait_s * 1000) + 1);
	}
}

/* Exponential backoff with jitter: 200 ms * 2^attempt, capped at 10 s,
 * then a random point in its upper half. */
static long backoff_ms(int attempt)
{
	long base = 200L << (attempt > 6 ? 6 : attempt);

	if (base > 10000)
		base = 10000;
	return base / 2 + (long)arc4random_uniform((uint32_t)(base / 2 + 1));
}

/* --- transport ------------------------------------------------------------- */

struct sink {
	rv_buf *body;
	int too_big;
	/* streaming (watch): called per complete line */
	rv_kube_event_fn fn;
	void *ctx;
	int stop;          /* fn's non-zero return */
	int bad_event;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	struct sink *s = p;
	size_t len = size * nmemb;
	char *nl;

	if (rv_buf_add(s->body, data, len) < 0) {
		s->too_big = 1;
		return 0;
	}
	if (!s->fn)
		return len;
	while ((nl = memchr(s->body->ptr, '\n', s->body->len))) {
		size_t line = (size_t)(nl - s->body->ptr);
		json_t *ev = line ? json_loadb(s->body->ptr, line, 0, NULL) : NULL;
		int r = 0;

		if (line && !json_is_object(ev)) {
			s->bad_event = 1;
			json_decref(ev);
			return 0;
		}
		if (ev)
			r = s->fn(s->ctx, ev);
		json_decref(ev);
		memmove(s->body->ptr, nl + 1, s->body->len - line - 1);
		s->body->len -= line + 1;
		s->body->ptr[s->body->len] = '\0';
		if (r) {
			s->stop = r;
			return 0;
		}
	}
	return len;
}

struct hdrs {
	long retry_after;   /* seconds, -1 when absent */
};

static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct hdrs *h = p;
	size_t len = size * nmemb;
	char tmp[64];

	if (len > 12 && len < sizeof(tmp) && !strncasecmp(data, "retry-after:", 12)) {
		char *end;
		long v;

		memcpy(tmp, data + 12, len - 12);
		tmp[len - 12] = '\0';
		v = strtol(tmp, &end, 10);
		if (end != tmp && v >= 0)
			h->retry_after = v > 60 ? 60 : v;
	}
	return len;
}

/* Describe a non-2xx answer: "GET /path: 403 Forbidden: <Status message>". */
static int status_error(long status, const char *method, const char *path,
	const rv_buf *body)
{
	json_t *st = body->len ? json_loadb(body->ptr, body->len, 0, NULL) : NULL;
	const char *msg = NULL, *reason = NULL;
	rv_buf causes = RV_BUF_INIT(1024);
	json_t *c;
	size_t i;
	int code;

	switch (status) {
	case 400: case 422: code = RV_EINVAL; break;
	case 401: case 403: code = RV_EAUTH; break;
	case 404: code = RV_ENOTFOUND; break;
	case 409: code = RV_ECONFLICT; break;
	case 410: code = RV_EGONE; break;
	case 504: code = RV_ETIMEOUT; break;
	default: code = RV_ERROR; break;
	}
	if (json_is_object(st) && !strcmp(rv_json_str(st, "kind") ? rv_json_str(st, "kind") : "", "Status")) {
		msg = rv_json_str(st, "message");
		reason = rv_json_str(st, "reason");
		json_array_foreach(json_object_get(json_object_get(st, "details"), "causes"), i, c) {
			const char *f = rv_json_str(c, "field"), *m = rv_json_str(c, "message");

			if (!m)
				continue;
			rv_buf_printf(&causes, "%s%s%s%s", causes.len ? "; " : "",
				f ? f : "", f ? ": " : "", m);
		}
	}
	if (status == 401 && !msg)
		msg = "the API server did not accept the credentials";
	if (msg)
		rv_error_set(code, "%s %s: %ld %s: %s%s%s%s", method, path, status,
			reason ? reason : "", msg, causes.len ? " (" : "",
			causes.len ? causes.ptr : "", causes.len ? ")" : "");
	else
		rv_error_set(code, "%s %s: HTTP %ld: %.200s", method, path, status,
			body->len ? body->ptr : "(empty answer)");
	json_decref(st);
	rv_buf_dispose(&causes);
	return code;
}

/* One HTTP exchange with retries. body_out receives the body. */
static int perform(rv_kube *k, long *status_out, rv_buf *body_out,
	const char *method, const char *path, const char *content_type,
	const char *body, size_t body_len, rv_kube_event_fn fn, void *ctx)
{
	int write_method = strcmp(method, "GET") != 0;
	int attempt, rc = RV_ERROR, forced_refresh = 0;
	rv_buf url = RV_BUF_INIT(16384), auth = RV_BUF_INIT(MAX_TOKEN + 64);
	char errbuf[CURL_ERROR_SIZE];

	if (status_out)
		*status_out = 0;
	if ((rc = rv_buf_printf(&url, "%s%s", k->server, path)) < 0)
		goto cleanup;
	for (attempt = 0;; attempt++) {
		struct curl_slist *hl = NULL;
		struct sink s = { body_out, 0, fn, ctx, 0, 0 };
		struct hdrs h = { -1 };
		long status = 0, wait = -1;
		CURLcode cc;
		CURL *c;

		rv_buf_reset(body_out);
		rv_buf_reset(&auth);
		pthread_mutex_lock(&k->lock);
		rc = refresh_credentials(k, forced_refresh == 1);
		if (rc == RV_OK && k->token)
			rc = rv_buf_printf(&auth, "Authorization: Bearer %s", k->token);
		pthread_mutex_unlock(&k->lock);
		if (rc < 0)
			goto cleanup;
		rate_limit(k);
		c = curl_easy_init();
		if (!c) {
			rc = rv_error_set(RV_ENOMEM, "out of memory for a curl handle");
			goto cleanup;
		}
		errbuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_URL, url.ptr);
		curl_easy_setopt(c, CURLOPT_SHARE, k->share);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
		/* a watch lasts as long as its timeoutSeconds; cap it anyway */
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			fn ? k->timeout_ms + WATCH_MAX_MS : k->timeout_ms);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "runtime-verifier");
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, k->insecure ? 0L : 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, k->insecure ? 0L : 2L);
		if (k->ca_data.len) {
			struct curl_blob blob = { k->ca_data.ptr, k->ca_data.len, CURL_BLOB_NOCOPY };

			curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
		} else if (k->ca_file) {
			curl_easy_setopt(c, CURLOPT_CAINFO, k->ca_file);
		}
		pthread_mutex_lock(&k->lock);
		if (k->exec_cert.len) {
			struct curl_blob cb = { k->exec_cert.ptr, k->exec_cert.len, CURL_BLOB_COPY };
			struct curl_blob kb = { k->exec_key.ptr, k->exec_key.len, CURL_BLOB_COPY };

			curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cb);
			curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kb);
		}
		pthread_mutex_unlock(&k->lock);
		if (k->cert_data.len) {
			struct curl_blob cb = { k->cert_data.ptr, k->cert_data.len, CURL_BLOB_NOCOPY };
			struct curl_blob kb = { k->key_data.ptr, k->key_data.len, CURL_BLOB_NOCOPY };

			curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cb);
			curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &kb);
		} else if (k->cert_file) {
			curl_easy_setopt(c, CURLOPT_SSLCERT, k->cert_file);
			curl_easy_setopt(c, CURLOPT_SSLKEY, k->key_file);
		}
		hl = curl_slist_append(hl, "Accept: application/json");
		if (auth.len)
			hl = curl_slist_append(hl, auth.ptr);
		if (content_type) {
			rv_buf ct = RV_BUF_INIT(256);

			rv_buf_printf(&ct, "Content-Type: %s", content_type);
			hl = curl_slist_append(hl, ct.ptr ? ct.ptr : "");
			rv_buf_dispose(&ct);
		}
		if (body) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		curl_slist_free_all(hl);
		if (status_out)
			*status_out = status;

		if (s.too_big) {
			rc = rv_error_set(RV_ETOOBIG, "%s %s: answer larger than %zu bytes",
				method, path, body_out->max);
			goto cleanup;
		}
		if (s.bad_event) {
			rc = rv_error_set(RV_EFORMAT, "%s %s: watch stream sent a line that is not a JSON object",
				method, path);
			goto cleanup;
		}
		if (s.stop) {
			rc = s.stop;
			goto cleanup;
		}
		if (cc != CURLE_OK) {
			int connect_failed = cc == CURLE_COULDNT_CONNECT ||
				cc == CURLE_COULDNT_RESOLVE_HOST;
			int transient = connect_failed || cc == CURLE_OPERATION_TIMEDOUT ||
				cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
				cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE;

			rc = rv_error_set(cc == CURLE_OPERATION_TIMEDOUT ? RV_ETIMEOUT : RV_ENET,
				"%s %s%s: %s", method, k->server, path,
				errbuf[0] ? errbuf : curl_easy_strerror(cc));
			if (!transient || (write_method && !connect_failed) ||
			    attempt >= k->max_retries || fn)
				goto cleanup;
			sleep_ms(backoff_ms(attempt));
			continue;
		}
		if (status >= 200 && status < 300) {
			rc = RV_OK;
			goto cleanup;
		}
		if (status == 401 && !forced_refresh && (k->token_file || k->exec)) {
			forced_refresh = 1;
			continue;
		}
		if (status == 429)
			wait = h.retry_after >= 0 ? h.retry_after * 1000 : backoff_ms(attempt);
		else if (!write_method && (status == 500 || status == 502 ||
					   status == 503 || status == 504))
			wait = h.retry_after >= 0 ? h.retry_after * 1000 : backoff_ms(attempt);
		if (wait < 0 || attempt >= k->max_retries) {
			rc = status_error(status, method, path, body_out);
			goto cleanup;
		}
		if (forced_refresh == 1)
			forced_refresh = 2;
		sleep_ms(wait);
	}
cleanup:
	rv_buf_dispose(&url);
	wipe_buf(&auth);
	return rc;
}

int rv_kube_request(rv_kube *k, json_t **out, long *status_out,
	const char *method, const char *path, const char *content_type,
	const char *body, size_t body_len)
{
	rv_buf b = RV_BUF_INIT(k->max_body);
	json_error_t jerr;
	json_t *v;
	int rc;

	if (out)
		*out = NULL;
	rc = perform(k, status_out, &b, method, path, content_type, body, body_len, NULL, NULL);
	if (rc < 0 || !out)
		goto cleanup;
	v = json_loadb(b.ptr ? b.ptr : "", b.len, 0, &jerr);
	if (!v) {
		rc = rv_error_set(RV_EFORMAT, "%s %s: answer is not JSON: %s", method, path, jerr.text);
		goto cleanup;
	}
	*out = v;
cleanup:
	rv_buf_dispose(&b);
	return rc;
}

int rv_kube_get_raw(rv_kube *k, rv_buf *out, long *status_out, const char *path)
{
	return perform(k, status_out, out, "GET", path, NULL, NULL, 0, NULL, NULL);
}

int rv_kube_watch(rv_kube *k, const char *path, rv_kube_event_fn fn, void *ctx)
{
	rv_buf b = RV_BUF_INIT(k->max_body);
	int rc = perform(k, NULL, &b, "GET", path, NULL, NULL, 0, fn, ctx);

	rv_buf_dispose(&b);
	return rc;
}

int rv_kube_escape(rv_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = RV_OK;

	for (; *s && rc == RV_OK; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
			rc = rv_buf_putc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			rc = rv_buf_add(b, e, 3);
		}
	}
	return rc;
}
