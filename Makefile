# runtime-verifier - build, test and demo. `make help` lists the targets.

CC      ?= cc
CLANG   ?= clang
BUILD   ?= build
OPT     ?= -O2 -g
PKGS     = libcurl jansson yaml-0.1 libcrypto libarchive libgit2 zlib libzstd sqlite3

WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
           -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS = -D_GNU_SOURCE -Ilib -DRV_HAVE_SQLITE3
CFLAGS  ?= $(OPT)
ALL_CFLAGS = -std=gnu11 -pthread $(WARN) $(CPPFLAGS) $(CFLAGS)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LIBS     = $(PKG_LIBS) -lisal -pthread
PROBE_LIBS = -static -lcrypto -lz -pthread -ldl

# Layers, lowest first. A layer may include only layers before it
# (checked by `make check-layers`).
LAYERS   = util core sources pipeline
UTIL_SRC     := $(sort $(wildcard lib/util/*.c))
CORE_SRC     := $(sort $(wildcard lib/core/*.c))
SOURCES_SRC  := $(sort $(wildcard lib/sources/*.c lib/sources/*/*.c))
PIPELINE_SRC := $(sort $(wildcard lib/pipeline/*.c))
LIB_SRC      := $(UTIL_SRC) $(CORE_SRC) $(SOURCES_SRC) $(PIPELINE_SRC)
# rv-probe takes no JSON library: util/json stays out of its archive.
PROBE_LIB_SRC := $(filter-out lib/util/json.c,$(UTIL_SRC)) $(CORE_SRC)
RV_SRC       := $(sort $(wildcard cmd/runtime-verifier/*.c))
PROBE_SRC    := $(sort $(wildcard cmd/rv-probe/*.c))
UNIT_SRC     := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC     := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))

RV_BIN    = $(BUILD)/runtime-verifier
PROBE_BIN = $(BUILD)/rv-probe
UNIT_BIN  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
ASAN_BIN  = $(patsubst tests/unit/%.c,$(BUILD)/asan-tests/%,$(UNIT_SRC))
FUZZ_BIN  = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzzers/%,$(FUZZ_SRC))

SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
            -fno-omit-frame-pointer -O1 -g

.PHONY: all help deps check unit asan fuzz tests check-layers demo demo-sandbox clean \
        install sandbox-up sandbox-down bench image image-check

all: $(RV_BIN) $(PROBE_BIN)

help:
	@echo "make            build runtime-verifier and rv-probe into $(BUILD)/"
	@echo "make demo       install dependencies, build, run the main job"
	@echo "make demo-sandbox  the same story on the Python API simulator (tests/sandbox)"
	@echo "make check      install dependencies, build, run every test"
	@echo "make deps       install build and test dependencies (apt-get)"
	@echo "make bench      run the benchmarks in bench/"
	@echo "make image      build the container image from the Dockerfile (buildah; tests/image-build)"
	@echo "make image-check  build it twice and test it (tests/scenario/dockerfile_cluster.sh, also in make check)"
	@echo "make clean      remove $(BUILD)/"

deps:
	@sh deps/install

# --- objects -------------------------------------------------------------
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -pthread $(WARN) $(CPPFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -pthread $(WARN) $(CPPFLAGS) -fsanitize=fuzzer-no-link,address,undefined -O1 -g $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# --- libraries and binaries ---------------------------------------------
$(BUILD)/librv.a: $(call obj,obj,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/librv-probe.a: $(call obj,obj,$(PROBE_LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/librv-asan.a: $(call obj,asan,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/librv-fuzz.a: $(call obj,fuzz,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(RV_BIN): $(call obj,obj,$(RV_SRC)) $(BUILD)/librv.a
	$(CC) -pthread $(CFLAGS) -o $@ $^ $(LIBS)

# rv-probe is static: libc, libcrypto and zlib only, so it runs in any image.
$(PROBE_BIN): $(call obj,obj,$(PROBE_SRC)) $(BUILD)/librv-probe.a
	$(CC) $(CFLAGS) -o $@ $^ $(PROBE_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librv.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -Itests -o $@ $< $(BUILD)/librv.a -lcmocka $(LIBS)

$(BUILD)/asan-tests/%: tests/unit/%.c $(BUILD)/librv-asan.a
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -pthread $(WARN) $(CPPFLAGS) $(SAN_FLAGS) $(PKG_CFLAGS) -Itests -o $@ $< $(BUILD)/librv-asan.a -lcmocka $(LIBS)

$(BUILD)/fuzzers/%: tests/fuzz/%.c $(BUILD)/librv-fuzz.a
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -pthread $(WARN) $(CPPFLAGS) -fsanitize=fuzzer,address,undefined -O1 -g $(PKG_CFLAGS) -o $@ $< $(BUILD)/librv-fuzz.a $(LIBS)

unit: $(UNIT_BIN)
asan: $(ASAN_BIN)
fuzz: $(FUZZ_BIN)
tests: all unit asan fuzz

# --- checks ---------------------------------------------------------------
check-layers:
	@sh tests/check-layers $(LAYERS)

# The real test cluster's components (tests/cluster/build; cached by their
# pins: a warm run checks stamps only). crane and syft are for bench/ only.
CLUSTER_TEST_COMPONENTS = etcd kube-apiserver kube-controller-manager kube-scheduler \
	kubelet kubectl containerd runc cni helm kyverno pause

check: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory check-layers
	@tests/cluster/build $(CLUSTER_TEST_COMPONENTS)
	@bash tests/run

# The demo runs on the real test cluster: the first run on a fresh machine
# builds its components from the pinned Go modules (docs/cluster.md has the
# measured times), later runs find them cached.
CLUSTER_DEMO_COMPONENTS = etcd kube-apiserver kube-controller-manager kube-scheduler \
	kubelet kubectl containerd runc cni pause

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/cluster/build $(CLUSTER_DEMO_COMPONENTS)
	@bash tests/demo-cluster

# the same story on the Python simulator (tests/sandbox), while it lasts
demo-sandbox: deps
	@$(MAKE) --no-print-directory all
	@bash tests/demo

bench: all
	@for b in bench/*; do [ -x "$$b" ] && "$$b"; done

# The image (Dockerfile): docs/operations.md, "Building the image".
image: deps
	@bash tests/image-build

image-check: deps
	@bash tests/run dockerfile_cluster

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include tests/sandbox/sandbox.mk
-include tests/cluster/cluster.mk
