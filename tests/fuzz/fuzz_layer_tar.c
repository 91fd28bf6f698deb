/* fuzz_layer_tar.c - layer streams (tar, gzip, zstd) and cached change lists */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbset.h"
#include "core/manifest.h"
#include "sources/oci/layers.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t len, pos;
};

static int src_read(void *ctx, void *buf, size_t len, size_t *got)
{
	struct src *s = ctx;
	size_t n = s->len - s->pos;

	if (n > len)
		n = len;
	if (n > 4093)
		n = 4093;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	*got = n;
	return 0;
}

/*
 * The first byte picks the codec, the path filter and package capture
 * (with small caps, so they are hit, and two hardlink targets to capture
 * with bit 64); the rest is the layer. An accepted
 * layer must fold into a valid sorted manifest (and, with capture, into a
 * package database set that survives its own serialize -> parse), and its
 * change list must survive serialize -> parse -> serialize unchanged. The
 * whole input is also tried as a cached change list, folded both ways.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/app" };
	static const rv_layers_target targets[] = { { (char *)"/app/t", 10 }, { (char *)"/t", 4096 } };
	rv_layers_target *tg = NULL;
	unsigned char need[1];
	size_t nt = 0, i;
	rv_layers_list *l = NULL, *l2 = NULL;
	rv_manifest *m = NULL;
	rv_dbset *d = NULL, *d2 = NULL;
	rv_buf a = RV_BUF_INIT(256u << 20), b = RV_BUF_INIT(256u << 20);
	rv_layers_opts o;
	struct src s;

	if (!size)
		return 0;
	memset(&o, 0, sizeof(o));
	o.max_inflated = 64u << 20;
	o.use_zlib = (data[0] >> 2) & 1;
	if (data[0] & 8) {
		o.paths = paths;
		o.npaths = 1;
	}
	if (data[0] & 16) {
		o.packages = 1;
		o.max_db_layer = 4096;
		o.max_db_image = (data[0] & 32) ? 64 : 0;
		if (data[0] & 64) {
			o.db_targets = targets;
			o.ndb_targets = 2;
		}
	}
	s.p = data + 1;
	s.len = size - 1;
	s.pos = 0;
	if (rv_layers_read(&l, (rv_layers_compression)(data[0] % 3), src_read, &s, &o) == 0) {
		int rc = rv_layers_fold(&m, &l, 1, &o);

		if (rc != 0 && rc != RV_ENOTFOUND && rc != RV_EINVAL)
			abort();
		if (rv_layers_list_serialize(&a, l) != 0 || rv_layers_list_parse(&l2, a.ptr, a.len) != 0 ||
		    rv_layers_list_serialize(&b, l2) != 0 || a.len != b.len || memcmp(a.ptr, b.ptr, a.len))
			abort();
		if (o.packages) {
			if (rv_layers_fold_dbset(&d, &l, 1, &o) != 0)
				abort();
			rv_buf_reset(&a);
			if (rv_dbset_serialize(&a, d) != 0 || rv_dbset_parse(&d2, a.ptr, a.len) != 0 ||
			    d2->n != d->n || d2->failed != d->failed || d2->bytes != d->bytes)
				abort();
			rv_dbset_free(d2);
			d2 = NULL;
			/* the second pass's targets: sorted, one each */
			if (rv_layers_db_link_targets(&tg, &nt, need, &l, 1) != 0)
				abort();
			for (i = 1; i < nt; i++)
				if (strcmp(tg[i - 1].path, tg[i].path) >= 0)
					abort();
			if (nt && !tg[0].max)
				abort();
			rv_layers_targets_free(tg, nt);
		}
	}
	rv_layers_list_free(l2);
	l2 = NULL;
	if (rv_layers_list_parse(&l2, data, size) == 0) {
		rv_manifest_free(m);
		m = NULL;
		(void)rv_layers_fold(&m, &l2, 1, NULL);
		(void)rv_layers_fold_dbset(&d2, &l2, 1, NULL);
	}
	rv_dbset_free(d);
	rv_dbset_free(d2);
	rv_manifest_free(m);
	rv_layers_list_free(l);
	rv_layers_list_free(l2);
	rv_buf_dispose(&a);
	rv_buf_dispose(&b);
	return 0;
}
