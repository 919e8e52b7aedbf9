# Thin wrapper over Meson/Ninja; see README.md.
BUILD ?= build
MESON_FLAGS ?=

.PHONY: all deps check demo bench fuzz asan clean fixtures format

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_FLAGS)

check: all
	meson test -C $(BUILD) --print-errorlogs --num-processes 2

demo: all
	@scripts/demo

bench: all
	@scripts/install-deps --qemu
	@bench/run

fuzz: deps
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz \
	    -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-fuzz
	@bench/../tests/fuzz/run-fuzzers build-fuzz $${FUZZ_SECONDS:-60}

asan: deps
	@[ -f build-asan/build.ninja ] || CC=clang meson setup build-asan \
	    -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C build-asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    meson test -C build-asan --print-errorlogs --num-processes 2

fixtures:
	@scripts/install-deps --qemu
	@scripts/make-fixtures

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz
