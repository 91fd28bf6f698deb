/* fuzz_sbom_npm.c - libFuzzer target: the catalogue fed arbitrary npm package.json files */
#include "sbom_roundtrip.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sbom_roundtrip("/app/node_modules/x/package.json", data, size);
}
