/* layers.h - image layers (tar, gzip, zstd) streamed into change lists, folded into a manifest */
#ifndef RV_LAYERS_H
#define RV_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/dbset.h"
#include "core/manifest.h"
#include "util/buf.h"

/*
 * A layer is read once, as a stream, and reduced to a compact change
 * list: the entries under the requested paths (hashed as they pass), the
 * hardlinks, and the whiteouts and opaque markers that can touch those
 * paths. Nothing is written to disk. The change lists of an image's layers
 * are folded in order into one manifest, applying the OCI layer rules:
 *
 * - `.wh.NAME` removes NAME (and all below it) of the lower layers;
 *   `DIR/.wh..wh..opq` removes all children of DIR from the lower layers.
 *   Both apply before the other entries of their layer. Other `.wh..wh.`
 *   names are ignored.
 * - A non-directory replacing a directory removes everything below it.
 * - A hardlink takes the content and metadata of its target at the time
 *   the link is applied (the target may come from an earlier layer).
 * - Parent directories missing from the tar are created as umoci unpack
 *   creates them as root with umask 022: mode 0755, owner 0:0. The same
 *   holds for "/" when no layer has a "./" entry.
 *
 * Tar paths lose a leading "./", "." components and trailing slashes; an
 * absolute path or a ".." component is RV_EFORMAT naming the path.
 *
 * With opts->packages, the same single read also captures the package
 * databases (core/dbset.h): the whole contents of every regular file,
 * anywhere in the layer (not only under opts->paths), that
 * rv_dbpath_classify() (core/dbpath.h) names, capped at that kind's size
 * (and the files of opts->db_targets, for hardlinks to them), plus what can hide
 * such a file in a lower layer (every whiteout and opaque marker, and the
 * path of every non-directory). rv_layers_fold_dbset folds them, with the
 * same rules, into the set a container started from the image has.
 */

typedef enum rv_layers_compression {
	RV_LAYERS_TAR = 0,
	RV_LAYERS_GZIP,
	RV_LAYERS_ZSTD
} rv_layers_compression;

/* Map a layer media type (OCI or Docker) to its compression; an unknown
 * or non-distributable type is RV_EUNSUPPORTED naming it. */
int rv_layers_compression_of(rv_layers_compression *out, const char *media_type);

/* Pull up to len bytes from a source; *got == 0 at the end. */
typedef int (*rv_layers_read_fn)(void *ctx, void *buf, size_t len, size_t *got);

/* A file to capture although it is no package database: the target of
 * a hardlink at one (rv_layers_db_link_targets), at most max bytes. */
typedef struct rv_layers_target {
	char *path;
	size_t max;
} rv_layers_target;

typedef struct rv_layers_opts {
	/* Absolute paths to keep (none: "/"). Borrowed. */
	const char *const *paths;
	size_t npaths;
	/* Cap on the inflated bytes of one layer (a gzip bomb); 0 means
	 * RV_LAYERS_MAX_INFLATED. */
	uint64_t max_inflated;
	/* Inflate gzip with zlib instead of ISA-L's igzip. */
	int use_zlib;
	/* Checked between reads; non-zero stops the read with "cancelled". */
	const volatile int *cancel;
	/* Also capture the package databases (see above). */
	int packages;
	/* Caps on the captured bytes of one layer (in stream order) and of
	 * the folded set (in path order); beyond them files become fail
	 * records. 0: RV_LAYERS_MAX_DB_LAYER, RV_LAYERS_MAX_DB_IMAGE. */
	uint64_t max_db_layer;
	uint64_t max_db_image;
	/* With packages: also capture these regular files (sorted by
	 * path, as rv_layers_db_link_targets gives them; borrowed), under
	 * their own caps and the layer's, for the hardlinks that name
	 * them. They are folded like databases but are not in the set. */
	const rv_layers_target *db_targets;
	size_t ndb_targets;
	/* Cap on the ops one layer's change list keeps (entries, links,
	 * whiteouts, places, databases); past it the read fails with
	 * RV_ETOOBIG, never a silent loss. 0: RV_LAYERS_MAX_OPS. */
	size_t max_ops;
	/* Cap on what rv_layers_fold spends on implied directories (those
	 * no layer lists: path bytes plus about 120 for the node, counted
	 * as created, also when removed later); past it the fold fails
	 * with RV_ETOOBIG naming the layer and entry. 0:
	 * RV_LAYERS_MAX_IMPLIED. */
	uint64_t max_implied;
} rv_layers_opts;

#define RV_LAYERS_MAX_INFLATED (64ull << 30)
#define RV_LAYERS_MAX_OPS ((size_t)4 << 20)
#define RV_LAYERS_MAX_IMPLIED (256ull << 20)
#define RV_LAYERS_MAX_DB_LAYER (256ull << 20)
#define RV_LAYERS_MAX_DB_IMAGE ((uint64_t)RV_DBSET_MAX_BYTES)

typedef struct rv_layers_list rv_layers_list;

/*
 * Read one layer from fn/ctx (compressed as c) into *out (free with
 * rv_layers_list_free). The source is read to its end even after the
 * tar's end marker, so a verifying source (a registry blob stream) sees
 * every byte. On error nothing is returned.
 */
int rv_layers_read(rv_layers_list **out, rv_layers_compression c,
	rv_layers_read_fn fn, void *ctx, const rv_layers_opts *opts);

void rv_layers_list_free(rv_layers_list *l);

/* Inflated tar bytes the layer had, and ops kept. */
uint64_t rv_layers_list_tar_bytes(const rv_layers_list *l);
size_t rv_layers_list_count(const rv_layers_list *l);

/* Bytes of package database contents the list holds (0 without
 * opts->packages). */
uint64_t rv_layers_list_db_bytes(const rv_layers_list *l);

/* Turn every captured package database of l into a fail record saying
 * why (copied), freeing the contents: how a caller bounds the memory of
 * an image's lists (rv_image: the sum over all layers past its cap). */
int rv_layers_list_drop_db(rv_layers_list *l, const char *why);

/* A compact, versioned binary form for the cache, and its parser (which
 * validates every length and field: RV_EFORMAT on anything else). */
int rv_layers_list_serialize(rv_buf *out, const rv_layers_list *l);
int rv_layers_list_parse(rv_layers_list **out, const void *data, size_t len);

/*
 * Fold n change lists, lowest layer first, into a sorted manifest of the
 * paths in opts (none: "/"). A requested path that no layer creates is
 * recorded as in rv_walk: an RV_FT_UNKNOWN entry with err ENOENT. A
 * hardlink whose target is not there is RV_ENOTFOUND naming both paths.
 * Past opts->max_implied spent on implied directories, RV_ETOOBIG naming
 * the layer and entry. Time: each op costs a lookup of its path, a
 * binary search over the sorted paths of opts, and what it removes or
 * creates, whatever the depth of its path or the number of paths.
 */
int rv_layers_fold(rv_manifest **out, rv_layers_list *const *layers, size_t n,
	const rv_layers_opts *opts);

/*
 * Fold n change lists read with opts->packages, lowest layer first, into
 * the sorted package database set of the image (*out, rv_dbset_free):
 * the final file at each wanted path after every whiteout, opaque
 * directory, replacement and hardlink; only regular files (a symlink is
 * not followed). A file larger than its kind's cap is the fail record
 * "larger than the limit of N bytes"; a hardlink to a file whose contents
 * were not captured (neither a database nor one of opts->db_targets when
 * its layer was read) is a fail record naming the target; past
 * opts->max_db_image bytes in path order, fail records. RV_EINVAL if a
 * list was read without opts->packages. Time: O(ops log ops) however
 * the layers' whiteouts and replacements are arranged.
 */
int rv_layers_fold_dbset(rv_dbset **out, rv_layers_list *const *layers, size_t n,
	const rv_layers_opts *opts);

/*
 * The second pass for hardlinks at database paths whose target was not
 * captured (pnpm's store, a deduplicated image: the target is a plain
 * file the stream had passed): the targets (*out, sorted by path, one
 * each, with the largest cap of the databases linking to it; free with
 * rv_layers_targets_free) and the layers holding a regular file at one
 * of them (need[i] = 1; need has n bytes). Reading those layers again
 * with opts->db_targets = *out and folding gives the links the contents
 * the probe reads. None: *n = 0.
 */
int rv_layers_db_link_targets(rv_layers_target **out, size_t *nout, unsigned char *need,
	rv_layers_list *const *layers, size_t n);

void rv_layers_targets_free(rv_layers_target *t, size_t n);

/* The targets of hardlinks inside opts' paths that lie outside them
 * (deduplicated; *out and each string allocated, free() them). The
 * caller reads the layers again with these paths added. */
int rv_layers_link_targets(char ***out, size_t *n, rv_layers_list *const *layers,
	size_t nlayers, const rv_layers_opts *opts);

#endif
