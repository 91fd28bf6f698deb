/* sbom_roundtrip.h - the body shared by the catalogue's fuzz targets */
#ifndef RV_FUZZ_SBOM_ROUNDTRIP_H
#define RV_FUZZ_SBOM_ROUNDTRIP_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/sbom/sbom.h"
#include "sources/sbom/sbom_cdx.h"
#include "sources/sbom/sbom_diff.h"
#include "util/buf.h"

/*
 * Feed data as the database at path, plus as /etc/os-release (so the purl
 * qualifiers come from fuzzed bytes too), then finish, write the CycloneDX
 * JSON and the text listing, read the JSON back and diff it against the
 * catalogue: every package must survive the round trip. Any failure but
 * running out of memory at the start aborts, which libFuzzer reports.
 */
static int sbom_roundtrip(const char *path, const uint8_t *data, size_t size)
{
	rv_buf out = RV_BUF_INIT((size_t)1 << 28), text = RV_BUF_INIT((size_t)1 << 28);
	rv_sbom_cdx_meta meta;
	rv_sbom *s = NULL, *back = NULL;
	rv_sbom_diff *d = NULL;

	if (rv_sbom_new(&s) < 0)
		return 0;
	if (rv_sbom_feed(s, path, strlen(path), data, size) < 0)
		abort();
	if (size < 4096 && rv_sbom_feed(s, "/etc/os-release", 15, data, size) < 0)
		abort();
	if (rv_sbom_finish(s) < 0)
		abort();
	memset(&meta, 0, sizeof(meta));
	meta.serial = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79";
	meta.timestamp = "";
	if (rv_sbom_cdx_write(&out, s, &meta) < 0 || rv_sbom_text_write(&text, s) < 0)
		abort();
	if (rv_sbom_cdx_read(&back, out.ptr, out.len) < 0)
		abort();
	if (back->npkgs != s->npkgs)
		abort();
	if (rv_sbom_diff_compute(&d, s, back) < 0 || d->count != 0)
		abort();
	rv_sbom_diff_free(d);
	rv_sbom_free(back);
	rv_sbom_free(s);
	rv_buf_dispose(&out);
	rv_buf_dispose(&text);
	return 0;
}

#endif
