/* fuzz_manifest.c - rv_manifest_parse is the exact inverse of serialize */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/manifest.h"
#include "util/buf.h"
#include "util/sha256.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Parse arbitrary bytes. If they parse, serializing the manifest must give
 * back exactly the same bytes, and the root hash must be their sha256:
 * each manifest has one canonical form and nothing else is accepted.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rv_manifest *m = NULL;
	rv_buf out = RV_BUF_INIT(64u << 20);
	unsigned char root[RV_SHA256_LEN], want[RV_SHA256_LEN];

	if (rv_manifest_parse(&m, (const char *)data, size) == 0) {
		if (rv_manifest_serialize(&out, m) != 0)
			abort();
		if (out.len != size || memcmp(out.ptr, data, size) != 0)
			abort();
		if (rv_manifest_root_hash(root, m) != 0 ||
		    rv_sha256_buf(want, data, size) != 0 ||
		    memcmp(root, want, RV_SHA256_LEN) != 0)
			abort();
	} else if (m) {
		abort();
	}
	rv_manifest_free(m);
	rv_buf_dispose(&out);
	return 0;
}
