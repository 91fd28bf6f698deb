/* sbom_cdx.h - CycloneDX 1.5 JSON and a text listing of a catalogue, and reading a BOM back */
#ifndef RV_SBOM_CDX_H
#define RV_SBOM_CDX_H

#include <stddef.h>

#include "sources/sbom/sbom.h"
#include "util/buf.h"

/* What the BOM describes (metadata.component) and how it is stamped. All
 * strings borrowed; NULL means the default. */
typedef struct rv_sbom_cdx_meta {
	const char *type;      /* CycloneDX component type: "container" for an
	                        * image, "file" (default) for a directory */
	const char *name;      /* the image reference or the directory */
	const char *version;   /* e.g. the image digest; left out if NULL */
	const char *purl;      /* the subject's purl (pkg:oci/... for an image);
	                        * left out if NULL */
	const char *serial;    /* "urn:uuid:..."; NULL: a random (v4) one */
	const char *timestamp; /* RFC 3339; NULL: now; "": left out */
	const char *tool_version; /* runtime-verifier's version */
} rv_sbom_cdx_meta;

/* Largest BOM rv_sbom_cdx_read accepts, in bytes. */
#define RV_SBOM_CDX_MAX (256u << 20)

/*
 * Append the CycloneDX 1.5 JSON of a finished catalogue to out: bomFormat,
 * specVersion, serialNumber, version 1, metadata (timestamp, the tool,
 * the component from meta, the catalogue's warnings as properties named
 * "runtime-verifier:warning"), then one component per package (type
 * "library", bom-ref the purl, name, version, purl, and the database
 * location as the property "runtime-verifier:location") and one
 * "operating-system" component from os-release when known. Ends with a
 * newline. RV_EINVAL if s is not finished; RV_ENOMEM; RV_ETOOBIG past
 * out's cap.
 */
int rv_sbom_cdx_write(rv_buf *out, const rv_sbom *s, const rv_sbom_cdx_meta *meta);

/*
 * Read a CycloneDX JSON BOM (any 1.x with purls; len bytes, borrowed) into
 * a new finished catalogue *out: one package per component with a purl
 * (name and version from the component, falling back to the purl; type
 * from the purl; location from "runtime-verifier:location" or "-"),
 * warnings from "runtime-verifier:warning" properties. Components without
 * a purl are skipped. RV_EFORMAT when it is not JSON or not a CycloneDX
 * BOM, or a purl is not "pkg:TYPE/..."; RV_ETOOBIG past RV_SBOM_CDX_MAX.
 */
int rv_sbom_cdx_read(rv_sbom **out, const char *data, size_t len);

/*
 * Append a listing for people: a summary line ("N packages: deb 92, pypi
 * 3" and the OS), then one line per package, "PURL  LOCATION", then one
 * line per warning, "warning: PATH: MESSAGE". Bytes outside printable
 * ASCII are shown as \xHH.
 */
int rv_sbom_text_write(rv_buf *out, const rv_sbom *s);

#endif
