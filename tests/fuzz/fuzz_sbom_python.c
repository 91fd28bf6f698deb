/* fuzz_sbom_python.c - libFuzzer target: the catalogue fed arbitrary Python core metadata (METADATA, PKG-INFO) */
#include "sbom_roundtrip.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sbom_roundtrip("/usr/lib/python3/dist-packages/x-1.dist-info/METADATA", data, size);
}
