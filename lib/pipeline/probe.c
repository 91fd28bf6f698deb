/* probe.c - the ephemeral probe: its spec, and one call from patch to checked output */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/summary.h"
#include "pipeline/probe.h"
#include "sources/kube/pods.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/json.h"
#include "util/banned.h"

#define PROBE_COMMAND "/usr/bin/rv-probe"
#define PROBE_LOG_MAX (16u << 20)   /* limitBytes when reading a probe log */

/* A numeric id from an image config's User ("1000", "1000:1000"); -1 when
 * absent or a name (which only the image's /etc/passwd could resolve). */
static long image_id_part(const rv_image *img, int group)
{
	const char *u = rv_json_str(json_object_get(img ? img->config : NULL, "config"), "User");
	const char *p;
	char *end;
	long v;

	if (!u || !*u)
		return group ? -1 : 0; /* no USER: root */
	p = u;
	if (group) {
		p = strchr(u, ':');
		if (!p)
			return -1;
		p++;
	}
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || end == p || (*end != '\0' && *end != ':') || v < 0)
		return -1;
	return v;
}

static json_t *sc_get(json_t *c, json_t *psc, const char *key)
{
	json_t *v = json_object_get(json_object_get(c, "securityContext"), key);

	return v ? v : json_object_get(psc, key);
}

/* rv-probe's arguments: the roots, excludes, packages, termination log. */
static json_t *probe_args(const rv_config *cfg)
{
	json_t *args = json_pack("[s,s]", "--root", "/proc/1/root");
	size_t i;

	for (i = 0; args && i < cfg->npaths; i++)
		json_array_append_new(args, json_string("--path")),
		json_array_append_new(args, json_string(cfg->paths[i]));
	for (i = 0; args && i < cfg->nexcludes; i++)
		json_array_append_new(args, json_string("--exclude")),
		json_array_append_new(args, json_string(cfg->excludes[i]));
	if (args && cfg->packages)
		json_array_append_new(args, json_string("--packages"));
	if (args) {
		json_array_append_new(args, json_string("--termination-log"));
		json_array_append_new(args, json_string("/dev/termination-log"));
	}
	return args;
}

/* The probe's securityContext: the target's identity and capabilities,
 * only restrictions added; or root with SYS_PTRACE ("sysadmin"). */
static json_t *probe_sc(int sysadmin, long uid, long gid, json_t *c)
{
	json_t *sc, *caps;

	if (sysadmin)
		return json_pack("{s:i, s:b, s:{s:[s]}}", "runAsUser", 0,
			"allowPrivilegeEscalation", 0, "capabilities", "add", "SYS_PTRACE");
	sc = json_pack("{s:I, s:I, s:b, s:b, s:b, s:b, s:{s:s}}",
		"runAsUser", (json_int_t)uid, "runAsGroup", (json_int_t)gid,
		"runAsNonRoot", uid != 0, "allowPrivilegeEscalation", 0,
		"readOnlyRootFilesystem", 1, "privileged", 0,
		"seccompProfile", "type", "RuntimeDefault");
	caps = json_object_get(json_object_get(c, "securityContext"), "capabilities");
	if (sc && json_is_object(caps)) {
		json_t *m = json_object();

		if (json_is_array(json_object_get(caps, "add")))
			json_object_set(m, "add", json_object_get(caps, "add"));
		if (json_is_array(json_object_get(caps, "drop")))
			json_object_set(m, "drop", json_object_get(caps, "drop"));
		json_object_set_new(sc, "capabilities", m);
	}
	return sc;
}

int rv_probe_spec(json_t **out, const rv_config *cfg, const char *name,
	const char *probe_image, json_t *pod, json_t *c, const rv_image *img)
{
	json_t *psc = json_object_get(json_object_get(pod, "spec"), "securityContext");
	int sysadmin = cfg->probe_profile && !strcmp(cfg->probe_profile, "sysadmin");
	json_t *v;
	long uid, gid;

	*out = NULL;
	v = sc_get(c, psc, "runAsUser");
	uid = json_is_integer(v) ? (long)json_integer_value(v) : image_id_part(img, 0);
	v = sc_get(c, psc, "runAsGroup");
	gid = json_is_integer(v) ? (long)json_integer_value(v) : image_id_part(img, 1);
	if (!sysadmin && uid < 0)
		return rv_error_set(RV_EINVAL,
			"the target's user is a name in the image; set runAsUser so the probe can mirror it");
	if (gid < 0)
		gid = uid == 0 ? 0 : uid; /* a guess; a mismatch shows as EACCES */
	*out = json_pack("{s:s, s:s, s:[s], s:o, s:s, s:s, s:s, s:s, s:o}",
		"name", name, "image", probe_image, "command", PROBE_COMMAND,
		"args", probe_args(cfg), "targetContainerName", rv_json_str(c, "name"),
		"imagePullPolicy", "IfNotPresent",
		"terminationMessagePath", "/dev/termination-log",
		"terminationMessagePolicy", "File", "securityContext",
		probe_sc(sysadmin, uid, gid, c));
	return *out ? RV_OK : rv_error_set(RV_ENOMEM, "out of memory");
}

size_t rv_probe_count(json_t *pod)
{
	json_t *list = json_object_get(json_object_get(pod, "spec"), "ephemeralContainers");
	json_t *e;
	size_t i, n = 0;

	json_array_foreach(list, i, e) {
		const char *nm = rv_json_str(e, "name");

		if (nm && !strncmp(nm, RV_PROBE_PREFIX, strlen(RV_PROBE_PREFIX)))
			n++;
	}
	return n;
}

void rv_probe_out_dispose(rv_probe_out *out)
{
	rv_manifest_free(out->manifest);
	rv_dbset_free(out->dbs);
	free(out->psa_refusal);
	memset(out, 0, sizeof(*out));
}

/* Add the probe and wait for it to end; its terminated state in *term
 * (borrowed from *latest). */
static int start_and_wait(json_t **latest, json_t **term, rv_probe_out *out, rv_cresult *cr,
	const rv_probe_job *job)
{
	json_t *patched = NULL, *state, *w;
	long t0 = rv_clock_ms();
	int rc;

	rc = rv_pods_add_ephemeral(&patched, job->k, job->ns, job->pod, job->spec);
	if (rc < 0) {
		if (rc == RV_EAUTH && strstr(rv_error_last(), "PodSecurity"))
			out->psa_refusal = strdup(rv_error_last());
		return rv_cresult_fail(cr, RV_CAUSE_PROBE_REFUSED,
			"the API server refused the probe container: %.1800s", rv_error_last());
	}
	rc = rv_pods_wait_ephemeral(latest, job->k, job->ns, job->pod, cr->probe,
		job->timeout_ms, patched);
	json_decref(patched);
	cr->probe_ms = rv_clock_ms() - t0;
	if (rc < 0)
		return rv_cresult_fail(cr, RV_CAUSE_PROBE_UNFINISHED,
			"the probe did not finish: %.1800s", rv_error_last());
	state = json_object_get(rv_pods_container_status(*latest, cr->probe, 1), "state");
	*term = json_object_get(state, "terminated");
	if (!*term) {
		w = json_object_get(state, "waiting");
		return rv_cresult_fail(cr, RV_CAUSE_PROBE_NOT_STARTED,
			"the probe container could not start: %.200s: %.1500s",
			rv_json_str(w, "reason") ? rv_json_str(w, "reason") : "waiting",
			rv_json_str(w, "message") ? rv_json_str(w, "message") : "");
	}
	return RV_OK;
}

/* The summary on the termination message, into cr. */
static int read_summary(rv_cresult *cr, json_t *term)
{
	const char *msg = rv_json_str(term, "message") ? rv_json_str(term, "message") : "";
	json_t *code = json_object_get(term, "exitCode");

	if (json_is_integer(code)) {
		cr->has_exit = 1;
		cr->exit_code = (long long)json_integer_value(code);
		if (rv_result_set_str(&cr->exit_reason, rv_json_str(term, "reason")) < 0)
			return rv_cresult_fail(cr, RV_CAUSE_PROBE_NO_RESULT, "%s", rv_error_last());
	}
	if (rv_summary_parse(&cr->summary, msg, strlen(msg)) < 0)
		return rv_cresult_fail(cr, RV_CAUSE_PROBE_NO_RESULT,
			"the probe reported no result (exit code %lld): %.1500s",
			(long long)json_integer_value(code), rv_error_last());
	cr->has_summary = 1;
	return RV_OK;
}

/* The log's frames: the manifest when files differ, the package
 * databases when they differ; each must hash to the summary's value. */
static int decode_log(rv_probe_out *out, rv_cresult *cr, const rv_buf *log, int files,
	int dbs)
{
	const char *text = log->ptr ? log->ptr : "";
	unsigned char d[RV_SHA256_LEN];

	if (files) {
		if (rv_frame_decode(&out->manifest, d, text, log->len, 0) < 0)
			return rv_cresult_fail(cr, RV_CAUSE_PROBE_OUTPUT,
				"the probe's output failed its checks: %.1800s", rv_error_last());
		if (memcmp(d, cr->summary.root, RV_SHA256_LEN))
			return rv_cresult_fail(cr, RV_CAUSE_PROBE_FORGED,
				"the probe's log does not match its termination message (forged or mixed output)");
	}
	if (dbs) {
		if (rv_frame_decode_dbset(&out->dbs, NULL, text, log->len, 0) < 0)
			return rv_cresult_fail(cr, RV_CAUSE_PROBE_OUTPUT,
				"the probe's package databases failed their checks: %.1800s",
				rv_error_last());
		if (rv_dbset_digest_comparable(d, out->dbs) < 0 ||
		    memcmp(d, cr->summary.dbset, RV_SHA256_LEN))
			return rv_cresult_fail(cr, RV_CAUSE_PROBE_FORGED,
				"the probe's package databases in its log do not match its termination message (forged or mixed output)");
	}
	return RV_OK;
}

int rv_probe_run(rv_probe_out *out, rv_cresult *cr, const rv_probe_job *job)
{
	json_t *latest = NULL, *term = NULL;
	rv_buf log = RV_BUF_INIT(PROBE_LOG_MAX + 1);
	int files, dbs, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rv_result_set_str(&cr->probe, json_string_value(json_object_get(job->spec,
			"name")))) < 0) {
		rc = rv_cresult_fail(cr, RV_CAUSE_PROBE_SPEC, "%s", rv_error_last());
		goto cleanup;
	}
	if ((rc = start_and_wait(&latest, &term, out, cr, job)) < 0 ||
	    (rc = read_summary(cr, term)) < 0)
		goto cleanup;
	/* equal roots of a complete walk, equal comparable digests: the same
	 * bytes on both sides, and the log need not be read */
	files = !cr->summary.complete || memcmp(cr->summary.root, job->image_root, RV_SHA256_LEN);
	dbs = job->image_dbs && cr->summary.has_dbset &&
		memcmp(job->image_dbs, cr->summary.dbset, RV_SHA256_LEN);
	if (!files && !dbs)
		goto cleanup;
	if ((rc = rv_pods_log(&log, job->k, job->ns, job->pod, cr->probe, PROBE_LOG_MAX)) < 0) {
		rc = rv_cresult_fail(cr, RV_CAUSE_PROBE_LOG,
			"the probe's log could not be read: %.1800s", rv_error_last());
		goto cleanup;
	}
	rc = decode_log(out, cr, &log, files, dbs);
cleanup:
	rv_buf_dispose(&log);
	json_decref(latest);
	return rc;
}
