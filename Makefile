# SPDX-License-Identifier: Apache-2.0
# Short verbs over the CMake build; see README.md. Every target that needs
# Debian packages installs them first (scripts/deps.sh).
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build deps configure install check check-asan check-long \
	check-valgrind demo bench fuzz clean

all: build

deps:
	@sh scripts/deps.sh build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: deps configure
	cmake --build $(BUILD) -j$(JOBS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Every test (unit, integration, browser, fuzz smoke) through ctest.
check:
	@sh scripts/deps.sh check
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCPROF_FUZZ=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE long
	@if command -v clang >/dev/null; then $(MAKE) --no-print-directory fuzz-smoke; fi

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer. Tests
# that need cprof's own malloc interposition skip themselves (ASan owns
# malloc) and say so.
check-asan:
	@sh scripts/deps.sh check
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCPROF_DEBUG=ON \
		-DCPROF_SANITIZE=address,undefined $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j$(JOBS) -LE long

# Long campaigns: fuzzing minutes per target, soak and statistics runs.
check-long:
	@sh scripts/deps.sh check
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j1 -L long
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=60

FUZZ_SECONDS ?= 10
fuzz:
	@sh scripts/deps.sh fuzz
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
		-DCPROF_FUZZ=ON -DCPROF_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzzers
	sh fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

demo: build
	@sh scripts/deps.sh demo
	sh scripts/demo.sh $(BUILD)

bench: build
	@sh scripts/deps.sh bench
	sh bench/run.sh $(BUILD)

# The hash_bench study (docs/hash-bench-study.md): C and Go side by side,
# pinned and unpinned, profiled and optimised, with plots; under 10 minutes.
.PHONY: study
study: build
	@sh scripts/deps.sh bench
	sh bench/hash_study.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
