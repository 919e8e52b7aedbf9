# Thin wrapper over Meson/Ninja; see README.md.
BUILD ?= build
MESON_FLAGS ?=

.PHONY: all deps check demo demo-devices bench soak fuzz fuzz-merge asan asan-fuzz-corpus clean fixtures \
	format analyze analyze-deps analyze-gcc analyze-clang

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

# A COLO pair running the guest for SOAK_SECONDS (default 600) under
# misbehaving QMP clients; results in build/soak/ (docs/soak.md). Not
# part of check.
soak: all
	@scripts/soak

# Every project library is built with coverage instrumentation in this
# build (-Dfuzz=true); see docs/fuzzing.md.
build-fuzz/build.ninja: | deps
	CC=clang meson setup build-fuzz -Dfuzz=true \
	    -Db_sanitize=address,undefined -Db_lundef=false

# Each target runs until no new edge for FUZZ_PLATEAU seconds (default
# 120), at most FUZZ_CAP seconds (default 1800); FUZZ_SECONDS=N: exactly N
# seconds each. One target at a time; see tests/fuzz/run-fuzzers.
fuzz: build-fuzz/build.ninja
	ninja -C build-fuzz
	@tests/fuzz/run-fuzzers build-fuzz $(FUZZ_TARGETS)

# Fuzzes, then merges the inputs that reach new edges into
# tests/fuzz/corpus/<target>/ (libFuzzer -merge=1 -use_counters=0).
fuzz-merge: build-fuzz/build.ninja
	ninja -C build-fuzz
	@tests/fuzz/run-fuzzers build-fuzz --merge $(FUZZ_TARGETS)

asan: build-asan/build.ninja
	ninja -C build-asan
	$(SAN_ENV) meson test -C build-asan --print-errorlogs --num-processes 2

# Static analysis of every C file Meson builds (src/, tests/, bench/, the
# fuzz targets' replay programs): gcc -fanalyzer, then clang's scan-build.
# Any finding fails the target; docs/static-analysis.md lists each finding
# so far and what became of it. Minutes, so not part of check.
analyze: analyze-gcc analyze-clang

analyze-deps:
	@scripts/install-deps --analyze

# Every -Wanalyzer-* warning this gcc knows, as an error (so an object with
# a finding is not built, and is analysed again next time), except
# too-complex, which reports the analyzer giving up, not a defect.
ANALYZER_WERROR = $$(gcc -Q --help=warnings | \
	grep -o -- '-Wanalyzer-[a-z0-9-]*' | grep -v -- -too-complex | \
	sort -u | sed 's/^-W/-Werror=/' | tr '\n' ' ')

build-analyze/build.ninja: | analyze-deps
	meson setup build-analyze -Dc_args="-fanalyzer $(ANALYZER_WERROR)"

# The analysis is per translation unit, so an incremental build re-checks
# exactly what changed; -k 0 reports every failing file, not the first.
analyze-gcc: build-analyze/build.ninja
	ninja -C build-analyze -k 0

# scan-build reports only what it compiles, so every run rebuilds all of
# build-scan (scan-build sets CC to its compiler wrapper at setup). Reports
# land in build-scan/report/ when there are findings. unix.Malloc is off:
# clang 14's analyzer ignores __attribute__((cleanup)), so it reports every
# g_autofree/g_autoptr variable as leaked on some path (7 of its 8 reports
# here; the 8th is fixed). Leaks are left to LeakSanitizer (make asan, and
# the ASan corpus replays in make check); see docs/static-analysis.md.
SCAN_BUILD = scan-build-14 --use-cc=clang
build-scan/build.ninja: | analyze-deps
	$(SCAN_BUILD) meson setup build-scan

analyze-clang: build-scan/build.ninja
	ninja -C build-scan -t clean >/dev/null
	$(SCAN_BUILD) --status-bugs -disable-checker unix.Malloc \
	    -o build-scan/report ninja -C build-scan

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
	rm -rf build build-asan build-fuzz build-analyze build-scan
