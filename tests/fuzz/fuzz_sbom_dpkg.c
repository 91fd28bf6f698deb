/* fuzz_sbom_dpkg.c - libFuzzer target: the catalogue fed arbitrary dpkg's status file */
#include "sbom_roundtrip.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sbom_roundtrip("/var/lib/dpkg/status", data, size);
}
