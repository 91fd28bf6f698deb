# Dockerfile - the runtime-verifier image: /usr/bin/runtime-verifier (the
# CronJob's command), /usr/bin/rv-probe (the ephemeral container's command,
# lib/pipeline/verify.c PROBE_COMMAND), the shared libraries
# runtime-verifier needs with their loader, CA certificates, and a non-root
# user. No shell, no package manager, nothing else.
#
# Build it with `make image` (tests/image-build): it makes the Debian 12
# base image itself with debootstrap, passes it pinned by digest, builds
# with buildah and SOURCE_DATE_EPOCH, and pushes the result. See
# docs/operations.md, "Building the image".
#
# Build arguments:
#   BUILDER_IMAGE  Debian 12 (bookworm) to build in, as NAME@sha256:<64 hex>.
#                  There is no default and a tag is refused: the bytes we
#                  build from are named by their digest or not at all.
#   REVISION       the git commit built -> org.opencontainers.image.revision
#                  (verify's provenance reads it; required)
#   SOURCE         the repository's URL -> org.opencontainers.image.source
#
# Reproducible: with `buildah bud --timestamp "$SOURCE_DATE_EPOCH"` two
# builds of the same tree, base digest and arguments give the same image
# digest, as long as the Debian mirror serves the same package versions
# (the libraries come from it). tests/scenario/dockerfile.sh checks it.

ARG BUILDER_IMAGE

# --- build: compile, then gather exactly what the final image holds -------
FROM ${BUILDER_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
# What `make all` compiles and links (Makefile PKGS, -lisal, the static
# libcrypto.a/libz.a of rv-probe) and the CA bundle the image ships: the
# libraries of deps/build.apt and libsqlite3-dev (deps/sbom.apt); gcc and
# make rather than build-essential; no clang or git (tests only).
# Downloaded packages stay in buildah's cache mount, not in a layer.
RUN --mount=type=cache,target=/var/cache/apt/archives,sharing=locked \
    apt-get update -qq && \
    apt-get install -y -qq --no-install-recommends \
        gcc libc6-dev make pkg-config binutils \
        libssl-dev zlib1g-dev libcurl4-openssl-dev libjansson-dev libyaml-dev \
        libarchive-dev libgit2-dev libzstd-dev libisal-dev libsqlite3-dev \
        ca-certificates >/dev/null

WORKDIR /src
# .dockerignore lets in only what `make all` reads.
COPY Makefile ./
COPY lib lib
COPY cmd cmd
RUN make -j"$(nproc)" all

# /out is the final image's whole filesystem. Libraries go under
# /usr/lib/<multiarch> by the name the loader looks for (their content,
# not Debian's version symlinks), and /lib, /lib64 point into /usr as in
# Debian 12, so the ELF interpreter path and the loader's default search
# path both resolve. ldd must find every library; rv-probe must stay static.
RUN set -eu; \
    out=/out; arch=$(gcc -print-multiarch); libdir=/usr/lib/$arch; \
    mkdir -p "$out/usr/bin" "$out$libdir" "$out/etc/ssl/certs" "$out/home/nonroot" "$out/tmp"; \
    install -m 0755 build/runtime-verifier build/rv-probe "$out/usr/bin/"; \
    if readelf -l build/rv-probe | grep -q 'program interpreter'; then \
        echo "rv-probe is not static" >&2; exit 1; fi; \
    if ldd build/runtime-verifier | grep 'not found'; then exit 1; fi; \
    for lib in $(ldd build/runtime-verifier | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do \
        cp -L "$lib" "$out$libdir/${lib##*/}"; \
    done; \
    interp=$(readelf -l build/runtime-verifier | sed -n 's/.*program interpreter: \(.*\)]$/\1/p'); \
    cp -L "$interp" "$out$libdir/${interp##*/}"; \
    ln -s usr/lib "$out/lib"; \
    idir=${interp%/*}; \
    if [ "$idir" != /lib ] && [ "$idir" != "$libdir" ] && [ "$idir" != "/lib/$arch" ]; then \
        mkdir -p "$out/usr$idir"; \
        ln -sr "$out$libdir/${interp##*/}" "$out/usr$interp"; \
        ln -s "usr$idir" "$out$idir"; \
    elif [ "$idir" = /lib ]; then \
        ln -sr "$out$libdir/${interp##*/}" "$out/usr$interp"; \
    fi; \
    chmod 0644 "$out$libdir"/*; chmod 0755 "$out$libdir/${interp##*/}"; \
    cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/"; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
        > "$out/etc/passwd"; \
    printf 'root:x:0:\nnonroot:x:65532:\n' > "$out/etc/group"; \
    chmod 0644 "$out/etc/passwd" "$out/etc/group" "$out/etc/ssl/certs/ca-certificates.crt"; \
    chown 65532:65532 "$out/home/nonroot"; chmod 0755 "$out/home/nonroot"; chmod 1777 "$out/tmp"

# Refuse a base named by tag (the FROM above has already used it, but no
# image comes out of it) and an image without its revision. Declared last
# so that the base's registry address and the revision, which change from
# build to build, do not invalidate the cached steps above.
ARG BUILDER_IMAGE
ARG REVISION
RUN if ! expr "$BUILDER_IMAGE" : '[^@]*@sha256:[0-9a-f]\{64\}$' >/dev/null; then \
        echo "BUILDER_IMAGE must be NAME@sha256:<digest>, not '$BUILDER_IMAGE'" >&2; exit 1; fi; \
    if [ -z "$REVISION" ]; then echo "REVISION (the git commit) is required" >&2; exit 1; fi

# --- the image: nothing but /out ----------------------------------------------
FROM scratch
ARG REVISION
ARG SOURCE
COPY --from=build /out/ /
LABEL org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.title="runtime-verifier" \
      org.opencontainers.image.description="runtime-verifier and rv-probe: prove the files in pods are the bytes CI built"
ENV HOME=/home/nonroot
USER 65532:65532
ENTRYPOINT ["/usr/bin/runtime-verifier"]
