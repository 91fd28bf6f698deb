/* fuzz_sbom_cdx.c - libFuzzer target: reading CycloneDX BOMs (sbom --diff's input) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sources/sbom/sbom.h"
#include "sources/sbom/sbom_cdx.h"
#include "sources/sbom/sbom_diff.h"
#include "util/buf.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read the input as a BOM; when it parses, diff it against itself (no
 * change allowed), write it out again and list it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rv_buf out = RV_BUF_INIT((size_t)1 << 28), text = RV_BUF_INIT((size_t)1 << 28);
	rv_sbom_cdx_meta meta = {
		.serial = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79", .timestamp = "" };
	rv_sbom *s = NULL;
	rv_sbom_diff *d = NULL;

	if (rv_sbom_cdx_read(&s, (const char *)data, size) < 0)
		return 0;
	if (rv_sbom_diff_compute(&d, s, s) < 0 || d->count != 0)
		abort();
	if (rv_sbom_cdx_write(&out, s, &meta) < 0 || rv_sbom_text_write(&text, s) < 0)
		abort();
	rv_sbom_diff_free(d);
	rv_sbom_free(s);
	rv_buf_dispose(&out);
	rv_buf_dispose(&text);
	return 0;
}
