// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-run: one Hyper-V-compatible partition on KVM.
 *
 *   hvis-run [--config vm.json] [options]
 *
 * Options override the configuration file. See usage() and
 * docs/hypervisor.md; the exit status says how the guest ended
 * (enum hvis_exit in vm.h).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <json-c/json.h>

#include <hvis/vmbus.h>
#include "vm.h"
#include "vsp_link.h"

static struct vm the_vm;
static struct termios saved_tty;
static bool tty_raw;

static void usage(FILE *f)
{
	fputs("usage: hvis-run [--config FILE] [options]\n"
	      "  -c, --config FILE        JSON configuration (keys below)\n"
	      "  -m, --memory MIB         guest RAM in MiB            (memory_mib, default 512)\n"
	      "  -p, --cpus N             virtual processors, 1..64   (cpus, default 1)\n"
	      "  -k, --kernel PATH        bzImage                      (kernel)\n"
	      "  -i, --initrd PATH        initramfs                    (initrd)\n"
	      "  -a, --append CMDLINE     kernel command line          (cmdline)\n"
	      "      --console stdio|none serial console on COM1       (console)\n"
	      "      --no-stimer-direct   no direct-mode synthetic timers (stimer_direct: false)\n"
	      "      --no-tsc-page        no reference TSC page        (tsc_page: false)\n"
	      "      --no-crash-msrs      no guest crash MSRs          (crash_msrs: false)\n"
	      "      --vmbus-max-version MAJOR.MINOR  newest VMBus version offered (vmbus_max_version)\n"
	      "  -n, --name NAME          partition name               (name, default \"vm\")\n"
	      "      --vsp SOCKET         attach to hvis-vspd at SOCKET (vsp): VMBus devices\n"
	      "  -v, --verbose            log exits and refused MSRs\n"
	      "  -h, --help\n"
	      "Console: Ctrl-A x stops the VM.\n"
	      "Exit status: 0 powered off, 1 host error, 2 usage, 3 reboot, 4 guest crash,\n"
	      "             5 triple fault, 6 stopped (signal or Ctrl-A x).\n", f);
}

static void restore_tty(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
}

/* SIGINT/SIGTERM are blocked everywhere and taken here, in a thread. */
static void *signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig;

	if (sigwait(set, &sig) == 0) {
		fprintf(stderr, "hvis-run: %s: stopping the VM\n", strsignal(sig));
		vm_request_exit(&the_vm, HVIS_EXIT_STOPPED);
	}
	return NULL;
}

static int parse_version(const char *s, uint32_t *out)
{
	unsigned int major, minor;
	char tail;

	if (sscanf(s, "%u.%u%c", &major, &minor, &tail) != 2 || major > 0xFFFF ||
	    minor > 0xFFFF)
		return -1;
	*out = HVIS_VMBUS_VERSION(major, minor);
	return 0;
}

struct opts {
	struct vm_config vm;
	unsigned long long mem_mib;
	const char *console;
	const char *name;	/* partition name (the VSP service shows it) */
	const char *vsp;	/* the VSP service's attach socket, or NULL */
	char *owned[6];		/* strings from the config file */
};

static int cfg_string(json_object *o, const char *key, const char **out,
		       char **owned)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		fprintf(stderr, "hvis-run: config: %s must be a string\n", key);
		return -1;
	}
	*owned = strdup(json_object_get_string(v));
	*out = *owned;
	return 0;
}

static int cfg_uint(json_object *o, const char *key, unsigned long long max,
		     unsigned long long *out)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) ||
	    (n = json_object_get_int64(v)) < 1 || (unsigned long long)n > max) {
		fprintf(stderr, "hvis-run: config: %s must be an integer 1..%llu\n",
			key, max);
		return -1;
	}
	*out = (unsigned long long)n;
	return 0;
}

static int cfg_bool(json_object *o, const char *key, bool *offered)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean)) {
		fprintf(stderr, "hvis-run: config: %s must be true or false\n", key);
		return -1;
	}
	*offered = json_object_get_boolean(v);
	return 0;
}

static int load_config(const char *path, struct opts *o)
{
	static const char *const known[] = {
		"memory_mib", "cpus", "kernel", "initrd", "cmdline", "console",
		"stimer_direct", "tsc_page", "crash_msrs", "vmbus_max_version",
		"name", "vsp",
		/* the VSP service's (hvis-vspd --config): devices */
		"scsi", "nics",
	};
	json_object *root = json_object_from_file(path), *v;
	unsigned long long cpus = o->vm.ncpus;
	bool direct = !o->vm.cpuid.no_stimer_direct;
	bool tsc = !o->vm.cpuid.no_reference_tsc;
	bool crash = !o->vm.cpuid.no_crash_msrs;
	const char *ver = NULL;
	int ret = -1;

	if (!root) {
		fprintf(stderr, "hvis-run: %s: %s\n", path, json_util_get_last_err());
		return -1;
	}
	if (!json_object_is_type(root, json_type_object)) {
		fprintf(stderr, "hvis-run: %s: not a JSON object\n", path);
		goto out;
	}
	json_object_object_foreach(root, key, val) {
		bool ok = false;

		(void)val;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= !strcmp(key, known[i]);
		if (!ok) {
			fprintf(stderr, "hvis-run: %s: unknown key \"%s\"\n", path, key);
			goto out;
		}
	}
	if (cfg_uint(root, "memory_mib", 1u << 20, &o->mem_mib) ||
	    cfg_uint(root, "cpus", VM_MAX_VCPUS, &cpus) ||
	    cfg_string(root, "kernel", &o->vm.kernel, &o->owned[0]) ||
	    cfg_string(root, "initrd", &o->vm.initrd, &o->owned[1]) ||
	    cfg_string(root, "cmdline", &o->vm.cmdline, &o->owned[2]) ||
	    cfg_string(root, "console", &o->console, &o->owned[3]) ||
	    cfg_string(root, "name", &o->name, &o->owned[4]) ||
	    cfg_string(root, "vsp", &o->vsp, &o->owned[5]) ||
	    cfg_bool(root, "stimer_direct", &direct) ||
	    cfg_bool(root, "tsc_page", &tsc) ||
	    cfg_bool(root, "crash_msrs", &crash))
		goto out;
	if (json_object_object_get_ex(root, "vmbus_max_version", &v)) {
		ver = json_object_get_string(v);
		if (!ver || parse_version(ver, &o->vm.vmbus_max_version)) {
			fprintf(stderr, "hvis-run: config: vmbus_max_version must be \"MAJOR.MINOR\"\n");
			goto out;
		}
	}
	o->vm.ncpus = (unsigned int)cpus;
	o->vm.cpuid.no_stimer_direct = !direct;
	o->vm.cpuid.no_reference_tsc = !tsc;
	o->vm.cpuid.no_crash_msrs = !crash;
	ret = 0;
out:
	json_object_put(root);
	return ret;
}

int main(int argc, char **argv)
{
	enum { OPT_CONSOLE = 256, OPT_NO_DIRECT, OPT_NO_TSC, OPT_NO_CRASH,
	       OPT_VMBUS_MAX, OPT_VSP };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'p' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "no-stimer-direct", no_argument, NULL, OPT_NO_DIRECT },
		{ "no-tsc-page", no_argument, NULL, OPT_NO_TSC },
		{ "no-crash-msrs", no_argument, NULL, OPT_NO_CRASH },
		{ "vmbus-max-version", required_argument, NULL, OPT_VMBUS_MAX },
		{ "name", required_argument, NULL, 'n' },
		{ "vsp", required_argument, NULL, OPT_VSP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	static sigset_t stop_signals;
	pthread_t sig_thread;
	enum hvis_exit status;
	char *end;
	int c;

	memset(&o, 0, sizeof(o));
	o.vm.ncpus = 1;
	o.mem_mib = 512;
	o.console = "stdio";
	o.name = "vm";
	hv_cpuid_opts_init(&o.vm.cpuid);

	/* the config file first, whatever its position: flags override it */
	for (int i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
			if (load_config(argv[i + 1], &o))
				return HVIS_EXIT_USAGE;
		}
	}
	while ((c = getopt_long(argc, argv, "c:m:p:k:i:a:n:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			break;
		case 'm':
			o.mem_mib = strtoull(optarg, &end, 10);
			if (*end || !o.mem_mib || o.mem_mib > (1u << 20)) {
				fprintf(stderr, "hvis-run: bad memory size '%s'\n", optarg);
				return HVIS_EXIT_USAGE;
			}
			break;
		case 'p':
			o.vm.ncpus = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !o.vm.ncpus || o.vm.ncpus > VM_MAX_VCPUS) {
				fprintf(stderr, "hvis-run: vCPU count must be 1..%u\n",
					VM_MAX_VCPUS);
				return HVIS_EXIT_USAGE;
			}
			break;
		case 'k':
			o.vm.kernel = optarg;
			break;
		case 'i':
			o.vm.initrd = optarg;
			break;
		case 'a':
			o.vm.cmdline = optarg;
			break;
		case OPT_CONSOLE:
			o.console = optarg;
			break;
		case OPT_NO_DIRECT:
			o.vm.cpuid.no_stimer_direct = true;
			break;
		case OPT_NO_TSC:
			o.vm.cpuid.no_reference_tsc = true;
			break;
		case OPT_NO_CRASH:
			o.vm.cpuid.no_crash_msrs = true;
			break;
		case OPT_VMBUS_MAX:
			if (parse_version(optarg, &o.vm.vmbus_max_version)) {
				fprintf(stderr, "hvis-run: bad VMBus version '%s'\n", optarg);
				return HVIS_EXIT_USAGE;
			}
			break;
		case 'n':
			o.name = optarg;
			break;
		case OPT_VSP:
			o.vsp = optarg;
			break;
		case 'v':
			o.vm.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return HVIS_EXIT_USAGE;
		}
	}
	if (optind != argc || !o.vm.kernel) {
		fprintf(stderr, "hvis-run: %s\n", optind != argc ?
			"unexpected arguments" : "no kernel given (--kernel)");
		usage(stderr);
		return HVIS_EXIT_USAGE;
	}
	if (!strcmp(o.console, "stdio")) {
		o.vm.console_in = STDIN_FILENO;
		o.vm.console_out = STDOUT_FILENO;
	} else if (!strcmp(o.console, "none")) {
		o.vm.console_in = -1;
		o.vm.console_out = -1;
	} else {
		fprintf(stderr, "hvis-run: console must be stdio or none\n");
		return HVIS_EXIT_USAGE;
	}
	o.vm.mem_bytes = (uint64_t)o.mem_mib << 20;

	if (o.vm.console_in >= 0 && isatty(o.vm.console_in) &&
	    tcgetattr(o.vm.console_in, &saved_tty) == 0) {
		struct termios raw = saved_tty;

		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR;
		if (tcsetattr(o.vm.console_in, TCSANOW, &raw) == 0) {
			tty_raw = true;
			atexit(restore_tty);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	if (vm_create(&the_vm, &o.vm)) {
		vm_destroy(&the_vm);
		return HVIS_EXIT_HOST_ERROR;
	}
	if (o.vsp) {
		struct vsp_link *l = vsp_link_open(&the_vm, o.vsp, o.name);

		if (!l || vsp_link_start(l)) {
			vsp_link_close(l);
			vm_destroy(&the_vm);
			return HVIS_EXIT_HOST_ERROR;
		}
		__atomic_store_n(&the_vm.vsp, l, __ATOMIC_RELEASE);
	}
	if (pthread_create(&sig_thread, NULL, signal_main, &stop_signals) == 0)
		pthread_detach(sig_thread);
	status = vm_run(&the_vm);
	vsp_link_close(__atomic_exchange_n(&the_vm.vsp, NULL, __ATOMIC_ACQ_REL));
	vm_destroy(&the_vm);
	if (status != HVIS_EXIT_POWEROFF)
		fprintf(stderr, "hvis-run: guest ended: %s (exit status %d)\n",
			status == HVIS_EXIT_REBOOT ? "reboot" :
			status == HVIS_EXIT_CRASH ? "crash" :
			status == HVIS_EXIT_TRIPLE_FAULT ? "triple fault" :
			status == HVIS_EXIT_STOPPED ? "stopped" : "host error",
			(int)status);
	for (size_t i = 0; i < sizeof(o.owned) / sizeof(o.owned[0]); i++)
		free(o.owned[i]);
	return (int)status;
}
