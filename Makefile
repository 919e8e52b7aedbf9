# Thin wrapper over Meson/Ninja; see README.md.
BUILD ?= build
MESON_FLAGS ?=

.PHONY: all deps check demo demo-devices bench fuzz fuzz-merge asan asan-fuzz-corpus clean fixtures format

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_FLAGS)

# Every test in the normal build, then every fuzz corpus again under
# ASan/UBSan (build-asan; only the replay programs are built there).
check: all
	meson test -C $(BUILD) --print-errorlogs --num-processes 2
	@$(MAKE) --no-print-directory asan-fuzz-corpus

SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

build-asan/build.ninja: | deps
	CC=clang meson setup build-asan \
	    -Db_sanitize=address,undefined -Db_lundef=false

asan-fuzz-corpus: build-asan/build.ninja
	ninja -C build-asan fuzz-replays
	$(SAN_ENV) meson test -C build-asan --no-rebuild --print-errorlogs \
	    --num-processes 2 --suite fuzz

demo: all
	@scripts/demo

# The qtest-driven COLO demo (no vCPU): a workload drives the devices.
demo-devices: all
	@scripts/demo-devices

bench: all
	@scripts/install-deps --qemu
	@bench/run

# Every project library is built with coverage instrumentation in this
# build (-Dfuzz=true); see docs/fuzzing.md.
build-fuzz/build.ninja: | deps
	CC=clang meson setup build-fuzz -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false

fuzz: build-fuzz/build.ninja
	ninja -C build-fuzz
	@tests/fuzz/run-fuzzers build-fuzz $${FUZZ_SECONDS:-60} $(FUZZ_TARGETS)

# Fuzzes, then merges the inputs that reach new edges into
# tests/fuzz/corpus/<target>/ (libFuzzer -merge=1 -use_counters=0).
fuzz-merge: build-fuzz/build.ninja
	ninja -C build-fuzz
	@tests/fuzz/run-fuzzers build-fuzz $${FUZZ_SECONDS:-60} --merge \
	    $(FUZZ_TARGETS)

asan: build-asan/build.ninja
	ninja -C build-asan
	$(SAN_ENV) meson test -C build-asan --print-errorlogs --num-processes 2

# QEMU 7.2's qmp-test, rtc-test, boot-order-test, QEMUMachine and qmp-shell
# against lockstep-dm, from Debian's QEMU source (minutes; not in check).
peer-tests: all
	@scripts/install-deps --peer
	@scripts/peer-tests

fixtures:
	@scripts/install-deps --qemu
	@scripts/make-fixtures

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz
