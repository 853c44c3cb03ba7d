# SPDX-License-Identifier: GPL-2.0-only
#
# hvis top-level build. One Makefile for everything:
#   make            userspace programs        -> build/bin/
#   make modules    guest kernel modules      (Kbuild, against KDIR)
#   make deps       install Debian packages the build and tests need
#   make check      deps + build + every test (unit, fuzz, lint, VM scenarios)
#   make bench      benchmarks, one "bench: ..." line per figure
#   make run        boot the default VM and show what works
# See README.md and docs/testing.md.

.DEFAULT_GOAL := all
SHELL := /bin/bash
# The last line of `make check` must be the suite's "N passed, N failed".
MAKEFLAGS += --no-print-directory

BUILD    ?= build
BIN      := $(BUILD)/bin
OBJ      := $(BUILD)/obj
CACHE    ?= $(BUILD)/cache

CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes -Wpointer-arith -Wvla
GEN      := $(BUILD)/gen
CPPFLAGS := -I. -Iinclude -Ilib -I$(GEN)
# Release flavour: what runs in the test host and what users install.
CFLAGS_REL := $(CSTD) $(WARN) -O2 -g -fno-strict-aliasing
# Test flavour: every unit test and tool under test runs with ASan + UBSan.
SANITIZE   := -fsanitize=address,undefined -fno-sanitize-recover=all \
	      -fno-omit-frame-pointer
CFLAGS_SAN := $(CSTD) $(WARN) -O1 -g -fno-strict-aliasing $(SANITIZE)

# ---------------------------------------------------------------- sources
LIB_SRCS := lib/ring.c lib/guid.c lib/attach_io.c

# Hypervisor pieces that are plain logic (no /dev/kvm): linked into
# hvis-run and unit-tested directly.
HV_LOGIC_SRCS := hypervisor/guest_mem.c hypervisor/acpi.c hypervisor/boot.c \
		 hypervisor/uart.c hypervisor/hv_cpuid.c hypervisor/tlfs.c \
		 hypervisor/rtc.c

# Userspace programs: NAME_SRCS lists each program's own sources; every
# program links the shared lib/ objects.
PROGRAMS := hvis-kvmcheck hvis-run
hvis-kvmcheck_SRCS := hypervisor/kvmcheck.c hypervisor/hv_cpuid.c
hvis-kvmcheck_LIBS :=
hvis-run_SRCS := hypervisor/main.c hypervisor/vm.c hypervisor/vsp_link.c $(HV_LOGIC_SRCS)
hvis-run_LIBS := -pthread -ljson-c

# hvis-vspd's VMBus server: pure logic behind struct vmbus_server_ops.
VMBUS_SERVER_SRCS := host-vsp/vmbus/server.c host-vsp/vmbus/channel.c \
		     host-vsp/vmbus/gpadl.c

# hvis-vspd's integration components: VSPs on the VMBus server.
IC_SRCS := host-vsp/ic/ic.c host-vsp/ic/heartbeat.c host-vsp/ic/shutdown.c \
	   host-vsp/ic/timesync.c host-vsp/ic/kvp.c host-vsp/ic/vss.c \
	   host-vsp/ic/utf16.c

# The SCSI disk target and the VHD image format: pure logic.
SCSI_SRCS := host-vsp/storage/scsi.c
VHD_SRCS := host-vsp/storage/vhd.c

# hvis-vspd's storage: the storvsp protocol, disk images and async I/O
# (io_uring through liburing, or threads); the SCSI target and the VHD
# format (SCSI_SRCS, VHD_SRCS) are pure logic with their own tests.
STORAGE_SRCS = host-vsp/storage/storvsp.c host-vsp/storage/image.c \
	       host-vsp/storage/aio.c $(SCSI_SRCS) $(VHD_SRCS)

# hvis-vspd's input devices: the synthetic mouse (synthhid).
INPUT_SRCS := host-vsp/input/mouse.c

# hvis-vspd's network adapters: netvsp (NVSP) with its RNDIS logic (pure,
# unit-tested and fuzzed: NET_LOGIC_SRCS) and the TAP glue (nic.c).
NET_LOGIC_SRCS := host-vsp/net/netvsp.c host-vsp/net/rndis.c
NET_SRCS := $(NET_LOGIC_SRCS) host-vsp/net/nic.c

# hvis-vspd (the VSP service of one VM) and hvisctl (its management CLI).
PROGRAMS += hvis-vspd hvisctl
hvis-vspd_SRCS = host-vsp/vspd/main.c host-vsp/vspd/loop.c \
		 host-vsp/vspd/partition.c host-vsp/vspd/control.c \
		 host-vsp/vspd/storage.c \
		 $(VMBUS_SERVER_SRCS) $(IC_SRCS) $(STORAGE_SRCS) $(INPUT_SRCS) \
		 $(NET_SRCS)
hvis-vspd_LIBS := -ljson-c -luring -pthread
hvisctl_SRCS = tools/hvisctl/hvisctl.c $(VHD_SRCS)
hvisctl_LIBS := -ljson-c

UNIT_SRCS  := $(wildcard tests/unit/*.c) $(HV_LOGIC_SRCS) $(VMBUS_SERVER_SRCS) \
	      $(IC_SRCS) host-vsp/vspd/control.c host-vsp/vspd/loop.c \
	      host-vsp/vspd/partition.c host-vsp/vspd/storage.c $(STORAGE_SRCS) \
	      $(INPUT_SRCS) $(NET_SRCS)
# The fake VMBus host that unit tests and fuzzers share.
UNIT_SRCS  += tests/common/vmbus_fake.c
BENCH_SRCS := tests/bench/ring_bench.c

# ---------------------------------------------------------------- rules
# The DSDT is ASL compiled by iasl into a C array (build/gen/dsdt.hex).
$(GEN)/dsdt.hex: hypervisor/dsdt.asl
	@mkdir -p $(@D)
	iasl -vs -vi -tc -p $(GEN)/dsdt $< >$(GEN)/dsdt.log || { cat $(GEN)/dsdt.log; exit 1; }
$(OBJ)/rel/hypervisor/acpi.o $(OBJ)/san/hypervisor/acpi.o: $(GEN)/dsdt.hex

$(OBJ)/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_REL) -MMD -MP -c $< -o $@

$(OBJ)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_SAN) -MMD -MP -c $< -o $@

rel_objs = $(patsubst %.c,$(OBJ)/rel/%.o,$(1))
san_objs = $(patsubst %.c,$(OBJ)/san/%.o,$(1))

define program_rule
$(BIN)/$(1): $(call rel_objs,$($(1)_SRCS) $(LIB_SRCS))
	@mkdir -p $$(@D)
	$$(CC) $(CFLAGS_REL) -o $$@ $$^ $($(1)_LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

.PHONY: all
all: $(addprefix $(BIN)/,$(PROGRAMS))

# ---------------------------------------------------------------- guest tools
# Static programs that run inside the layer-2 test guest, not on the host:
# not in PROGRAMS (layer 1's /hvis/bin carries host programs only);
# tests/testhost/mk-initramfs-l2 puts them into the guest image's /usr/bin.
# hvis-iotest: O_DIRECT io_uring verify/randread/seqread (docs/testing.md).
L2BIN := $(BUILD)/l2bin
$(L2BIN)/hvis-iotest: tests/tools/hvis-iotest.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -static -o $@ $< -luring -pthread
all: $(L2BIN)/hvis-iotest

$(BUILD)/test/hvis-unit: $(call san_objs,$(sort $(UNIT_SRCS) $(LIB_SRCS)))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_SAN) -o $@ $^ -lcunit -ljson-c -luring -pthread

$(BIN)/hvis-bench-ring: $(call rel_objs,$(BENCH_SRCS) $(LIB_SRCS))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_REL) -o $@ $^ -pthread

# libFuzzer harnesses, one per parser of the other side's bytes.
FUZZERS     := ring tlfs vmbus_server ic control scsi vhd storvsp mouse netvsp
FUZZ_CC     ?= clang
FUZZ_CFLAGS := $(CSTD) $(WARN) -g -O1 -fno-strict-aliasing \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_ring_SRCS := $(LIB_SRCS)
FUZZ_tlfs_SRCS := hypervisor/tlfs.c
FUZZ_vmbus_server_SRCS := $(VMBUS_SERVER_SRCS) $(LIB_SRCS) \
			  tests/common/vmbus_fake.c tests/common/vmbus_fake.h \
			  $(wildcard host-vsp/vmbus/*.h)
FUZZ_ic_SRCS := $(IC_SRCS) $(VMBUS_SERVER_SRCS) $(LIB_SRCS) \
		$(wildcard host-vsp/ic/*.h host-vsp/vmbus/*.h)
FUZZ_control_SRCS = host-vsp/vspd/control.c host-vsp/vspd/loop.c \
		     host-vsp/vspd/storage.c host-vsp/vspd/partition.c $(STORAGE_SRCS) \
		     $(INPUT_SRCS) $(NET_SRCS) \
		     $(IC_SRCS) $(VMBUS_SERVER_SRCS) $(LIB_SRCS) \
		     $(wildcard host-vsp/vspd/*.h host-vsp/ic/*.h host-vsp/vmbus/*.h \
				host-vsp/net/*.h)
FUZZ_control_LIBS := -ljson-c -luring
FUZZ_mouse_SRCS := $(INPUT_SRCS) $(VMBUS_SERVER_SRCS) $(LIB_SRCS) \
		   $(wildcard host-vsp/input/*.h host-vsp/vmbus/*.h)
FUZZ_scsi_SRCS := $(SCSI_SRCS) $(wildcard host-vsp/storage/*.h)
FUZZ_vhd_SRCS := $(VHD_SRCS) $(wildcard host-vsp/storage/*.h)
FUZZ_storvsp_SRCS := $(STORAGE_SRCS) $(VMBUS_SERVER_SRCS) $(LIB_SRCS) \
		     tests/common/vmbus_fake.c tests/common/vmbus_fake.h \
		     $(wildcard host-vsp/storage/*.h host-vsp/vmbus/*.h)
FUZZ_storvsp_LIBS := -luring
FUZZ_netvsp_SRCS := $(NET_LOGIC_SRCS) $(VMBUS_SERVER_SRCS) $(LIB_SRCS) \
		    $(wildcard host-vsp/net/*.h host-vsp/vmbus/*.h)
.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_$$*_SRCS) $(wildcard include/hvis/*.h lib/*.h hypervisor/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(FUZZ_$*_LIBS) -pthread

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

NPROC := $(shell nproc 2>/dev/null || echo 1)

# ---------------------------------------------------------------- deps
.PHONY: deps
deps:
	@scripts/deps.sh

# ---------------------------------------------------------------- modules
# KDIR defaults to the headers of bookworm's current linux-headers-amd64
# (installed by scripts/kdir.sh when missing).
KDIR ?= $(shell scripts/kdir.sh)

.PHONY: modules modules_clean
modules:
	@test -d "$(KDIR)" || { echo "modules: no kernel headers at KDIR='$(KDIR)'" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules_clean:
	@test -d "$(KDIR)" && $(MAKE) -C $(KDIR) M=$(CURDIR) clean || true

# Kernel sources as checkpatch sees them: the modules, the shared ring
# and the wire formats they include (userspace-only compat excluded).
KERNEL_SRCS = $(shell find drivers lib include/hvis -name '*.[ch]' \
		! -name 'user-compat.h' | sort)

.PHONY: checkpatch
checkpatch:
	@scripts/checkpatch.sh $(KERNEL_SRCS)

# ---------------------------------------------------------------- tests
.PHONY: unit fuzz check test-vm bench run clean distclean
unit: $(BUILD)/test/hvis-unit
	$(BUILD)/test/hvis-unit

# Each fuzzer for FUZZ_SECONDS (make check: a short bounded run).
FUZZ_SECONDS ?= 300
fuzz: $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZERS))
	@scripts/run-fuzzers.sh $(FUZZ_SECONDS) $^

# One VM scenario alone: make check SCENARIO=<name>
SCENARIO ?=

test-vm: all
	tests/testhost/run-scenarios $(SCENARIO)

ifeq ($(SCENARIO),)
check: deps
	$(MAKE) -j$(NPROC) all $(BUILD)/test/hvis-unit
	$(MAKE) unit
	$(MAKE) -j$(NPROC) $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZERS))
	$(MAKE) fuzz FUZZ_SECONDS=12
	$(MAKE) modules
	$(MAKE) checkpatch
	$(MAKE) test-vm
else
check: deps
	$(MAKE) test-vm SCENARIO=$(SCENARIO)
endif

# The ring on this machine, then boot-to-init in the test host: hvis-run
# against QEMU microvm -enable-kvm (tests/bench/scenarios/, run-bench).
bench: all $(BIN)/hvis-bench-ring
	$(BIN)/hvis-bench-ring
	tests/testhost/run-bench

run: deps
	$(MAKE) all
	tests/testhost/run-scenarios --show hyperv-cpuid hvis-run-boot hvis-vmbus-ic \
		hvis-storage-hotplug hvis-net hvis-mouse

clean: modules_clean
	find $(BUILD) -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +

distclean: clean
	rm -rf $(BUILD)
