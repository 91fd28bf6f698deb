/* test_kube.c - the Kubernetes client's mechanics against a scripted HTTPS
 * server: config loading, auth, retries, Retry-After, Status errors */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sources/kube/kube.h"
#include "util/error.h"

static char dir[256];
static char top[1024];
static pid_t server_pid; /* killed by teardown if a test fails before stop() */

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void write_file(const char *name, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static char *slurp(const char *name)
{
	char path[512], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* Start the scripted server with script text; returns its pid, port in *port. */
static pid_t serve(const char *script, int client_ca, int *port)
{
	char pf[512], log[512], sc[512], *p;
	pid_t pid;
	int i;

	write_file("script.json", "%s", script);
	snprintf(pf, sizeof(pf), "%s/port", dir);
	snprintf(log, sizeof(log), "%s/requests.log", dir);
	snprintf(sc, sizeof(sc), "%s/script.json", dir);
	unlink(pf);
	unlink(log);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char cert[512], key[512], ca[512], prog[1200];

		snprintf(cert, sizeof(cert), "%s/server.crt", dir);
		snprintf(key, sizeof(key), "%s/server.key", dir);
		snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
		snprintf(prog, sizeof(prog), "%s/tests/lib/scripted_httpd.py", top);
		if (client_ca)
			execlp("python3", "python3", prog, "--cert", cert, "--key", key,
				"--client-ca", ca, "--script", sc, "--log", log,
				"--port-file", pf, (char *)NULL);
		else
			execlp("python3", "python3", prog, "--cert", cert, "--key", key,
				"--script", sc, "--log", log, "--port-file", pf, (char *)NULL);
		_exit(127);
	}
	server_pid = pid;
	for (i = 0; i < 200; i++) {
		if (access(pf, F_OK) == 0)
			break;
		usleep(50000);
	}
	p = slurp("port");
	*port = (int)strtol(p, NULL, 10);
	free(p);
	assert_true(*port > 0);
	return pid;
}

static void stop(pid_t pid)
{
	server_pid = 0;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void kubeconfig(int port, const char *user_yaml)
{
	char ca[512];

	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	write_file("kubeconfig",
		"apiVersion: v1\nkind: Config\ncurrent-context: test\n"
		"clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:%d\n"
		"    certificate-authority: ca.crt\n"
		"contexts:\n- name: test\n  context:\n    cluster: c\n    user: u\n    namespace: prod\n"
		"users:\n- name: u\n  user:\n%s", port, user_yaml);
	(void)ca;
}

static rv_kube *client(void)
{
	char path[512];
	rv_kube_opts o;
	rv_kube *k = NULL;

	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	o.kubeconfig = path;
	o.qps = 100;
	o.burst = 100;
	o.timeout_ms = 5000;
	if (rv_kube_new(&k, &o) < 0)
		fail_msg("rv_kube_new: %s", rv_error_last());
	return k;
}

static int setup(void **state)
{
	const char *t = getenv("RV_TOP");

	(void)state;
	snprintf(top, sizeof(top), "%s", t ? t : ".");
	snprintf(dir, sizeof(dir), "/tmp/rv-test-kube-XXXXXX");
	assert_non_null(mkdtemp(dir));
	sh("sh '%s/tests/lib/mkcerts.sh' '%s'", top, dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (server_pid > 0)
		stop(server_pid);
	sh("rm -rf '%s'", dir);
	return 0;
}

#define POD_OK "{\"status\":200,\"body\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}"

static void test_token_and_ca(void **state)
{
	int port;
	pid_t pid = serve("{\"/api/v1/namespaces/prod/pods/p\": [" POD_OK ",\"need_auth\":\"Bearer s3cret\"}]}", 0, &port);
	rv_kube *k;
	json_t *pod = NULL;
	long status;
	char *log;

	(void)state;
	kubeconfig(port, "    token: s3cret\n");
	k = client();
	assert_string_equal(rv_kube_namespace(k), "prod");
	assert_int_equal(rv_kube_request(k, &pod, &status, "GET",
		"/api/v1/namespaces/prod/pods/p", NULL, NULL, 0), 0);
	assert_int_equal(status, 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")), "p");
	json_decref(pod);
	log = slurp("requests.log");
	assert_non_null(strstr(log, "\"Authorization\": \"Bearer s3cret\""));
	free(log);
	rv_kube_free(k);
	stop(pid);
}

static void test_retry_after_429_and_5xx(void **state)
{
	int port;
	pid_t pid = serve("{\"/x\": ["
		"{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},\"body\":{\"kind\":\"Status\",\"message\":\"slow down\",\"reason\":\"TooManyRequests\",\"code\":429}},"
		"{\"status\":503,\"body\":\"\"},"
		"{\"status\":200,\"body\":{}}],"
		"\"/w\": [{\"status\":500,\"body\":{\"kind\":\"Status\",\"message\":\"boom\",\"reason\":\"InternalError\",\"code\":500}}, {\"status\":200,\"body\":{}}]}",
		0, &port);
	struct timespec a, b;
	rv_kube *k;
	json_t *v = NULL;
	long status;
	double secs;

	(void)state;
	kubeconfig(port, "    token: t\n");
	k = client();
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(rv_kube_request(k, &v, &status, "GET", "/x", NULL, NULL, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(secs >= 1.0); /* Retry-After: 1 was honoured */
	assert_int_equal(rv_kube_request_count(k), 3);
	json_decref(v);
	/* a write is not retried after a 500: the server may have acted */
	assert_int_equal(rv_kube_request(k, &v, &status, "PATCH", "/w",
		"application/merge-patch+json", "{}", 2), RV_ERROR);
	assert_int_equal(status, 500);
	assert_non_null(strstr(rv_error_last(), "PATCH /w: 500 InternalError: boom"));
	rv_kube_free(k);
	stop(pid);
}

static void test_status_messages(void **state)
{
	int port;
	pid_t pid = serve("{\"/forbidden\": [{\"status\":403,\"body\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
		"\"message\":\"pods is forbidden: User \\\"system:serviceaccount:rv:rv\\\" cannot list resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"prod\\\"\","
		"\"reason\":\"Forbidden\",\"details\":{\"kind\":\"pods\"},\"code\":403}}],"
		"\"/invalid\": [{\"status\":422,\"body\":{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"Pod \\\"p\\\" is invalid\",\"reason\":\"Invalid\","
		"\"details\":{\"causes\":[{\"reason\":\"FieldValueForbidden\",\"message\":\"Forbidden: cannot be set for an Ephemeral Container\",\"field\":\"spec.ephemeralContainers[0].ports\"}]},\"code\":422}}],"
		"\"/gone\": [{\"status\":410,\"body\":{\"kind\":\"Status\",\"message\":\"The provided continue parameter is too old\",\"reason\":\"Expired\",\"code\":410}}],"
		"\"/html\": [{\"status\":502,\"body\":\"<html>bad gateway</html>\"}]}",
		0, &port);
	rv_kube_opts o;
	rv_kube *k;
	long status;
	char path[512];

	(void)state;
	kubeconfig(port, "    token: t\n");
	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	o.kubeconfig = path;
	o.max_retries = -1;
	assert_int_equal(rv_kube_new(&k, &o), 0);
	assert_int_equal(rv_kube_request(k, NULL, &status, "GET", "/forbidden", NULL, NULL, 0), RV_EAUTH);
	assert_non_null(strstr(rv_error_last(), "GET /forbidden: 403 Forbidden: pods is forbidden: User \"system:serviceaccount:rv:rv\" cannot list resource \"pods\""));
	assert_int_equal(rv_kube_request(k, NULL, &status, "PATCH", "/invalid", "application/strategic-merge-patch+json", "{}", 2), RV_EINVAL);
	assert_non_null(strstr(rv_error_last(), "422 Invalid: Pod \"p\" is invalid (spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container)"));
	assert_int_equal(rv_kube_request(k, NULL, &status, "GET", "/gone", NULL, NULL, 0), RV_EGONE);
	assert_int_equal(rv_kube_request(k, NULL, &status, "GET", "/html", NULL, NULL, 0), RV_ERROR);
	assert_non_null(strstr(rv_error_last(), "HTTP 502: <html>bad gateway</html>"));
	rv_kube_free(k);
	stop(pid);
}

static void test_token_file_rotation(void **state)
{
	int port;
	pid_t pid = serve("{\"/old\": [{\"status\":200,\"body\":{},\"need_auth\":\"Bearer old\"}],"
		"\"/new\": [{\"status\":200,\"body\":{},\"need_auth\":\"Bearer new\"}]}", 0, &port);
	rv_kube *k;
	long status;
	char *log;

	(void)state;
	write_file("token", "old\n");
	kubeconfig(port, "    tokenFile: token\n");
	k = client();
	assert_int_equal(rv_kube_request(k, NULL, &status, "GET", "/old", NULL, NULL, 0), 0);
	/* the token rotates; the client still holds the old one (re-read each
	 * minute), so the server's 401 must make it re-read the file at once */
	write_file("token", "new\n");
	assert_int_equal(rv_kube_request(k, NULL, &status, "GET", "/new", NULL, NULL, 0), 0);
	assert_int_equal(status, 200);
	log = slurp("requests.log");
	assert_non_null(strstr(log, "\"path\": \"/new\", \"headers\": {"));
	assert_non_null(strstr(log, "Bearer old\"}, \"body\": \"\"}\n{\"method\": \"GET\", \"path\": \"/new\""));
	free(log);
	rv_kube_free(k);
	stop(pid);
}

static void test_exec_plugin(void **state)
{
	int port;
	pid_t pid = serve("{\"/x\": [{\"status\":200,\"body\":{},\"need_auth\":\"Bearer from-exec-abc\"}]}", 0, &port);
	rv_kube *k;
	long status;
	char *info;

	(void)state;
	write_file("cred.sh",
		"#!/bin/sh\n"
		"printf '%%s' \"$KUBERNETES_EXEC_INFO\" > \"$(dirname \"$0\")/exec-info\"\n"
		"printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"from-exec-%%s\"}}' \"$SUFFIX\"\n");
	sh("chmod +x '%s/cred.sh'", dir);
	kubeconfig(port,
		"    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
		"      command: ./cred.sh\n      args: [\"--x\"]\n"
		"      env:\n      - name: SUFFIX\n        value: abc\n"
		"      interactiveMode: Never\n");
	k = client();
	assert_int_equal(rv_kube_request(k, NULL, &status, "GET", "/x", NULL, NULL, 0), 0);
	info = slurp("exec-info");
	assert_non_null(strstr(info, "\"kind\":\"ExecCredential\""));
	free(info);
	rv_kube_free(k);
	stop(pid);
}

static void test_client_certificate(void **state)
{
	int port;
	pid_t pid = serve("{\"/x\": [{\"status\":200,\"body\":{}}]}", 1, &port);
	rv_kube *k;
	long status;
	char user[256];

	(void)state;
	snprintf(user, sizeof(user), "    client-certificate: client.crt\n    client-key: client.key\n");
	kubeconfig(port, user);
	k = client();
	assert_int_equal(rv_kube_request(k, NULL, &status, "GET", "/x", NULL, NULL, 0), 0);
	rv_kube_free(k);
	/* without the certificate the TLS handshake is refused */
	kubeconfig(port, "    token: t\n");
	k = client();
	assert_int_equal(rv_kube_request(k, NULL, &status, "GET", "/x", NULL, NULL, 0), RV_ENET);
	rv_kube_free(k);
	stop(pid);
}

static void test_in_cluster(void **state)
{
	int port;
	pid_t pid = serve("{\"/x\": [{\"status\":200,\"body\":{},\"need_auth\":\"Bearer sa-token\"}]}", 0, &port);
	rv_kube_opts o;
	rv_kube *k = NULL;
	char portstr[16];

	(void)state;
	write_file("token", "sa-token\n");
	write_file("namespace", "security");
	snprintf(portstr, sizeof(portstr), "%d", port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", portstr, 1);
	memset(&o, 0, sizeof(o));
	o.in_cluster = 1;
	o.sa_dir = dir;
	assert_int_equal(rv_kube_new(&k, &o), 0);
	assert_string_equal(rv_kube_namespace(k), "security");
	assert_int_equal(rv_kube_request(k, NULL, NULL, "GET", "/x", NULL, NULL, 0), 0);
	rv_kube_free(k);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(rv_kube_new(&k, &o), RV_ENOTFOUND);
	stop(pid);
}

static void test_kubeconfig_errors(void **state)
{
	static const struct {
		const char *yaml;
		const char *msg;
	} cases[] = {
		{ "apiVersion: v1\nclusters: []\n", "has no current-context" },
		{ "current-context: x\ncontexts: []\n", "has no context 'x'" },
		{ "current-context: x\ncontexts:\n- name: x\n  context: {user: u}\n", "context 'x' has no cluster" },
		{ "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\nclusters:\n- name: c\n  cluster: {}\n", "cluster 'c' has no server" },
		{ "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: nobody}\nclusters:\n- name: c\n  cluster: {server: 'https://h'}\n", "has no user 'nobody'" },
		{ "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: {server: 'https://h', certificate-authority-data: '!!!'}\n", "certificate-authority-data is not valid base64" },
		{ "current-context: &a x\n", "anchors and aliases are not accepted" },
		{ "current-context: [unclosed\n", "kubeconfig '" },
		{ "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: {server: 'https://h'}\nusers:\n- name: u\n  user: {client-certificate: c.crt}\n", "certificate without a key" },
	};
	char path[512];
	rv_kube_opts o;
	rv_kube *k = NULL;
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad-kubeconfig", dir);
	memset(&o, 0, sizeof(o));
	o.kubeconfig = path;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file("bad-kubeconfig", "%s", cases[i].yaml);
		assert_true(rv_kube_new(&k, &o) < 0);
		assert_null(k);
		if (!strstr(rv_error_last(), cases[i].msg))
			fail_msg("case %zu: got '%s', want '%s'", i, rv_error_last(), cases[i].msg);
	}
	o.kubeconfig = "/nonexistent/kubeconfig";
	assert_int_equal(rv_kube_new(&k, &o), RV_ENOTFOUND);
	assert_non_null(strstr(rv_error_last(), "cannot open kubeconfig '/nonexistent/kubeconfig'"));
}

static int count_events(void *ctx, json_t *ev)
{
	int *n = ctx;

	if (json_string_value(json_object_get(ev, "type")))
		(*n)++;
	return 0;
}

static void test_watch_stream(void **state)
{
	int port, n = 0;
	pid_t pid = serve("{\"/api/v1/pods?watch=1\": [{\"status\":200,\"body\":"
		"\"{\\\"type\\\":\\\"ADDED\\\",\\\"object\\\":{}}\\n{\\\"type\\\":\\\"MODIFIED\\\",\\\"object\\\":{}}\\n\"}]}", 0, &port);
	rv_kube *k;

	(void)state;
	kubeconfig(port, "    token: t\n");
	k = client();
	assert_int_equal(rv_kube_watch(k, "/api/v1/pods?watch=1", count_events, &n), 0);
	assert_int_equal(n, 2);
	rv_kube_free(k);
	stop(pid);
}

static void test_escape(void **state)
{
	rv_buf b = RV_BUF_INIT(256);

	(void)state;
	assert_int_equal(rv_kube_escape(&b, "app in (a,b),tier!=db"), 0);
	assert_string_equal(b.ptr, "app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb");
	rv_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_and_ca),
		cmocka_unit_test(test_retry_after_429_and_5xx),
		cmocka_unit_test(test_status_messages),
		cmocka_unit_test(test_token_file_rotation),
		cmocka_unit_test(test_exec_plugin),
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_in_cluster),
		cmocka_unit_test(test_kubeconfig_errors),
		cmocka_unit_test(test_watch_stream),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
