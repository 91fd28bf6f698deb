/* fuzz_dbset.c - rv_dbset_parse on arbitrary bytes; what parses reserializes to the same bytes */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbset.h"
#include "util/buf.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rv_dbset *s = NULL;
	rv_buf b = RV_BUF_INIT(1u << 30);

	if (rv_dbset_parse(&s, data, size) == 0) {
		/* canonical: one form per set */
		if (rv_dbset_serialize(&b, s) != 0 || b.len != size || memcmp(b.ptr, data, size))
			abort();
	}
	rv_buf_dispose(&b);
	rv_dbset_free(s);
	return 0;
}
