/* test_webhook.c - signed report delivery, retries and the spool */
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
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "pipeline/spool.h"
#include "pipeline/webhook.h"
#include "util/error.h"

static char dir[] = "/tmp/rv-test-webhook-XXXXXX";
static char top[1024];
static pid_t server_pid; /* killed by teardown if a test fails before stop() */

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static pid_t serve(const char *script, int *port)
{
	char pf[512], buf[32] = "";
	pid_t pid;
	FILE *f;
	int i;

	put("script.json", script);
	snprintf(pf, sizeof(pf), "%s/port", dir);
	unlink(pf);
	{
		char log[512];

		snprintf(log, sizeof(log), "%s/requests.log", dir);
		unlink(log);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char prog[1200], a[512], b[512], c[512], d[512];

		snprintf(prog, sizeof(prog), "%s/tests/lib/scripted_httpd.py", top);
		snprintf(a, sizeof(a), "%s/server.crt", dir);
		snprintf(b, sizeof(b), "%s/server.key", dir);
		snprintf(c, sizeof(c), "%s/script.json", dir);
		snprintf(d, sizeof(d), "%s/requests.log", dir);
		execlp("python3", "python3", prog, "--cert", a, "--key", b, "--script", c,
			"--log", d, "--port-file", pf, (char *)NULL);
		_exit(127);
	}
	server_pid = pid;
	for (i = 0; i < 200 && access(pf, F_OK) != 0; i++)
		usleep(50000);
	f = fopen(pf, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	*port = (int)strtol(buf, NULL, 10);
	return pid;
}

static void stop(pid_t pid)
{
	server_pid = 0;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* The n-th logged request (0-based) as JSON. */
static json_t *request(int n)
{
	char path[512], line[65536];
	FILE *f;
	int i = 0;

	snprintf(path, sizeof(path), "%s/requests.log", dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (i++ == n) {
			fclose(f);
			return json_loads(line, 0, NULL);
		}
	}
	fclose(f);
	return NULL;
}

static void test_sign_vector(void **state)
{
	char sig[68];

	(void)state;
	/* python3: hmac.new(b'topsecret', b'1700000000.{"a":1}', sha256) */
	assert_int_equal(rv_webhook_sign(sig, (const unsigned char *)"topsecret", 9,
		1700000000, "{\"a\":1}", 7), 0);
	assert_string_equal(sig, "v1=6a939b0c71853d606167625a15168ee9188c6a511c773ef4f42d307f3849e50f");
}

static void test_signed_post_with_retry(void **state)
{
	int port;
	pid_t pid = serve("{\"/hook\": [{\"status\":503,\"body\":\"\"},{\"status\":202,\"body\":\"\"}]}", &port);
	char url[128], ca[512], secretf[512], tokenf[512], sig[68];
	rv_webhook_cfg w;
	json_t *req, *h;
	const char *body = "{\"run\":\"r1\",\"verdict\":\"drift\"}";
	long long ts;

	(void)state;
	put("secret", "s3cr3t\n");
	put("token", "bearer-abc\n");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/hook", port);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(secretf, sizeof(secretf), "%s/secret", dir);
	snprintf(tokenf, sizeof(tokenf), "%s/token", dir);
	memset(&w, 0, sizeof(w));
	w.url = url;
	w.secret_file = secretf;
	w.bearer_token_file = tokenf;
	w.retries = 3;
	w.timeout_ms = 5000;
	if (rv_webhook_post(&w, body, strlen(body), "r1", ca) < 0)
		fail_msg("%s", rv_error_last());
	/* the second request got the 202; check its headers */
	req = request(1);
	assert_non_null(req);
	h = json_object_get(req, "headers");
	assert_string_equal(json_string_value(json_object_get(req, "body")), body);
	assert_string_equal(json_string_value(json_object_get(h, "Idempotency-Key")), "r1");
	assert_string_equal(json_string_value(json_object_get(h, "Authorization")), "Bearer bearer-abc");
	ts = strtoll(json_string_value(json_object_get(h, "X-RV-Timestamp")), NULL, 10);
	assert_int_equal(rv_webhook_sign(sig, (const unsigned char *)"s3cr3t", 6, (time_t)ts,
		body, strlen(body)), 0);
	assert_string_equal(json_string_value(json_object_get(h, "X-RV-Signature")), sig);
	json_decref(req);
	assert_null(request(2));
	stop(pid);
}

static void test_no_retry_on_4xx(void **state)
{
	int port;
	pid_t pid = serve("{\"/hook\": [{\"status\":400,\"body\":\"bad report\"},{\"status\":200,\"body\":\"\"}]}", &port);
	char url[128], ca[512];
	rv_webhook_cfg w;
	json_t *req;

	(void)state;
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/hook", port);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	memset(&w, 0, sizeof(w));
	w.url = url;
	w.retries = 3;
	assert_int_equal(rv_webhook_post(&w, "{}", 2, "k", ca), RV_ERROR);
	assert_non_null(strstr(rv_error_last(), "answered 400: bad report"));
	req = request(1);
	assert_null(req);
	/* no secret configured: no signature header */
	req = request(0);
	assert_null(json_object_get(json_object_get(req, "headers"), "X-RV-Signature"));
	json_decref(req);
	stop(pid);
}

struct deliver_ctx {
	rv_webhook_cfg *w;
	const char *ca;
};

static int deliver(void *p, const char *key, const char *body, size_t len)
{
	struct deliver_ctx *c = p;

	return rv_webhook_post(c->w, body, len, key, c->ca);
}

static void test_spool_when_receiver_down(void **state)
{
	char spool[512], url[128], ca[512];
	rv_webhook_cfg w;
	struct deliver_ctx ctx;
	size_t sent, left;
	int port;
	pid_t pid;
	json_t *req;
	struct stat st;

	(void)state;
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	memset(&w, 0, sizeof(w));
	w.retries = 1;
	w.timeout_ms = 2000;
	/* nothing listens on port 1: delivery fails and the report is kept */
	w.url = "https://127.0.0.1:1/hook";
	assert_int_equal(rv_webhook_post(&w, "{\"run\":\"r7\"}", 12, "r7", ca), RV_ENET);
	assert_int_equal(rv_spool_put(spool, "r7", "{\"run\":\"r7\"}", 12), 0);
	assert_int_equal(stat(spool, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(rv_spool_put(spool, "../evil", "{}", 2), RV_EINVAL);
	ctx.w = &w;
	ctx.ca = ca;
	assert_int_equal(rv_spool_flush(spool, deliver, &ctx, &sent, &left), 0);
	assert_int_equal(sent, 0);
	assert_int_equal(left, 1);
	/* the receiver is back: the next run delivers it, with its key */
	pid = serve("{\"/hook\": [{\"status\":200,\"body\":\"\"}]}", &port);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/hook", port);
	w.url = url;
	assert_int_equal(rv_spool_flush(spool, deliver, &ctx, &sent, &left), 0);
	assert_int_equal(sent, 1);
	assert_int_equal(left, 0);
	req = request(0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(req, "headers"), "Idempotency-Key")), "r7");
	assert_string_equal(json_string_value(json_object_get(req, "body")), "{\"run\":\"r7\"}");
	json_decref(req);
	assert_int_equal(rv_spool_flush(spool, deliver, &ctx, &sent, &left), 0);
	assert_int_equal(sent + left, 0);
	stop(pid);
}

static int setup(void **state)
{
	const char *t = getenv("RV_TOP");
	char cmd[2048];

	(void)state;
	snprintf(top, sizeof(top), "%s", t ? t : ".");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/lib/mkcerts.sh' '%s'", top, dir);
	sh(cmd);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	if (server_pid > 0)
		stop(server_pid);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	sh(cmd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_vector),
		cmocka_unit_test(test_signed_post_with_retry),
		cmocka_unit_test(test_no_retry_on_4xx),
		cmocka_unit_test(test_spool_when_receiver_down),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
