/* fuzz_sbom_apk.c - libFuzzer target: the catalogue fed arbitrary apk's installed database */
#include "sbom_roundtrip.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sbom_roundtrip("/lib/apk/db/installed", data, size);
}
