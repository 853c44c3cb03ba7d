// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvis-vspd: the VSP service of one VM (see vspd.h, docs/vmbus.md).
 *
 *   hvis-vspd --name NAME [--run-dir DIR] [--config vm.json] [--disk SPEC]...
 *             [--vmbus-max-version M.m] [--aio ENGINE] [-v]
 *
 * Creates DIR/NAME/ (default /run/hvis/NAME), listens there on
 * attach.sock (hvis-run) and control.sock (hvisctl), and serves until
 * SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host-vsp/net/nic.h"
#include "storage.h"
#include "vspd.h"

static void usage(FILE *f)
{
	fputs("usage: hvis-vspd --name NAME [options]\n"
	      "  -n, --name NAME                 the VM (letters, digits, . _ -)\n"
	      "  -d, --run-dir DIR               sockets in DIR/NAME/ (default " VSPD_DEFAULT_RUN_DIR ")\n"
	      "      --vmbus-max-version M.m     newest VMBus version offered (default: the\n"
	      "                                  partition's setting, else 5.3)\n"
	      "      --heartbeat-period SECS     heartbeat interval (default 2)\n"
	      "  -c, --config FILE               the VM's JSON configuration: its \"scsi\"\n"
	      "                                  controllers and disks (docs/storage.md)\n"
	      "      --disk SPEC                 a SCSI disk: PATH[,lun=N][,controller=N][,ro]\n"
	      "                                  [,format=auto|raw|vhd][,serial=S][,nounmap]\n"
	      "      --aio auto|io_uring|threads disk I/O engine (default auto)\n"
	      "      --nic SPEC                  a network adapter on a TAP device:\n"
	      "                                  tap=NAME[,mac=MAC][,mtu=N][,queues=N]\n"
	      "                                  (config: \"nics\", docs/network.md)\n"
	      "      --no-mouse                  offer no synthetic mouse\n"
	      "  -v, --verbose                   log every VMBus message\n"
	      "  -h, --help\n", f);
}

void vspd_log(struct vspd *d, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hvis-vspd[%s]: ", d->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > VSPD_NAME_MAX || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

static int listen_seqpacket(struct vspd *d, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		vspd_log(d, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 4) < 0) {
		vspd_log(d, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void attach_ready(void *opaque, uint32_t events)
{
	(void)events;
	vspd_partition_accept(opaque);
}

static void signal_ready(void *opaque, uint32_t events)
{
	struct vspd *d = opaque;

	(void)events;
	d->stopping = true;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (strlen(path) >= sizeof(buf))
		return -1;
	strcpy(buf, path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(buf, 0750) < 0 && errno != EEXIST ? -1 : 0;
}

static int parse_version(const char *s, uint32_t *out)
{
	unsigned int major, minor;
	char tail;

	if (sscanf(s, "%u.%u%c", &major, &minor, &tail) != 2 ||
	    !vmbus_version_known(HVIS_VMBUS_VERSION(major, minor)))
		return -1;
	*out = HVIS_VMBUS_VERSION(major, minor);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_MAX = 256, OPT_HB, OPT_DISK, OPT_AIO, OPT_NO_MOUSE, OPT_NIC };
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "run-dir", required_argument, NULL, 'd' },
		{ "vmbus-max-version", required_argument, NULL, OPT_MAX },
		{ "heartbeat-period", required_argument, NULL, OPT_HB },
		{ "config", required_argument, NULL, 'c' },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "aio", required_argument, NULL, OPT_AIO },
		{ "no-mouse", no_argument, NULL, OPT_NO_MOUSE },
		{ "nic", required_argument, NULL, OPT_NIC },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct vspd d;
	const char *name = NULL, *run_dir = VSPD_DEFAULT_RUN_DIR;
	char path[PATH_MAX];
	const char *config = NULL, *disks[64];
	unsigned int ndisks = 0;
	const char *nics[VSPD_MAX_NICS];
	unsigned int nnics = 0;
	enum aio_engine engine = AIO_ENGINE_AUTO;
	char err[512];
	sigset_t sigs;
	int sfd, c;

	while ((c = getopt_long(argc, argv, "n:d:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'd':
			run_dir = optarg;
			break;
		case OPT_MAX:
			if (parse_version(optarg, &d.max_version)) {
				fprintf(stderr, "hvis-vspd: unknown VMBus version '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_HB: {
			char *end;
			double s = strtod(optarg, &end);

			if (*end || s < 0.1 || s > 3600) {
				fprintf(stderr, "hvis-vspd: bad heartbeat period '%s'\n", optarg);
				return 2;
			}
			d.ic_opt.heartbeat_period = (uint64_t)(s * 1e9);
			break;
		}
		case 'c':
			config = optarg;
			break;
		case OPT_DISK:
			if (ndisks == sizeof(disks) / sizeof(disks[0])) {
				fprintf(stderr, "hvis-vspd: too many --disk options\n");
				return 2;
			}
			disks[ndisks++] = optarg;
			break;
		case OPT_AIO:
			if (!strcmp(optarg, "auto")) {
				engine = AIO_ENGINE_AUTO;
			} else if (!strcmp(optarg, "io_uring")) {
				engine = AIO_ENGINE_URING;
			} else if (!strcmp(optarg, "threads")) {
				engine = AIO_ENGINE_THREADS;
			} else {
				fprintf(stderr, "hvis-vspd: --aio takes auto, io_uring or threads\n");
				return 2;
			}
			break;
		case OPT_NO_MOUSE:
			d.no_mouse = true;
			break;
		case OPT_NIC:
			if (nnics == VSPD_MAX_NICS) {
				fprintf(stderr, "hvis-vspd: too many --nic options\n");
				return 2;
			}
			nics[nnics++] = optarg;
			break;
		case 'v':
			d.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !name || !name_ok(name)) {
		fprintf(stderr, "hvis-vspd: %s\n", !name ? "no --name given" :
			optind != argc ? "unexpected arguments" :
			"the name may hold letters, digits, '.', '_' and '-' (63 at most)");
		usage(stderr);
		return 2;
	}
	strcpy(d.name, name);
	if ((size_t)snprintf(d.dir, sizeof(d.dir), "%s/%s", run_dir, name) >= sizeof(d.dir) ||
	    mkdir_p(d.dir)) {
		vspd_log(&d, "cannot create %s/%s: %s", run_dir, name, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	d.loop = loop_create();
	snprintf(path, sizeof(path), "%s/attach.sock", d.dir);
	d.attach_fd = listen_seqpacket(&d, path);
	if (sfd < 0 || !d.loop || d.attach_fd < 0 ||
	    loop_add(d.loop, sfd, EPOLLIN, signal_ready, &d) ||
	    loop_add(d.loop, d.attach_fd, EPOLLIN, attach_ready, &d))
		return 1;
	d.storage = vspd_storage_create(&d, engine);
	if (!d.storage) {
		vspd_log(&d, "cannot start disk I/O (engine %s)",
			 engine == AIO_ENGINE_URING ? "io_uring" : "any");
		return 1;
	}
	if (config && vspd_storage_load(d.storage, config, err, sizeof(err))) {
		vspd_log(&d, "%s", err);
		return 1;
	}
	for (unsigned int i = 0; i < ndisks; i++) {
		if (vspd_storage_add_spec(d.storage, disks[i], err, sizeof(err))) {
			vspd_log(&d, "%s", err);
			return 1;
		}
	}
	d.net = vspd_net_create(&d);
	if (!d.net || (config && vspd_net_load(d.net, config, err, sizeof(err)))) {
		vspd_log(&d, "%s", d.net ? err : "out of memory");
		return 1;
	}
	for (unsigned int i = 0; i < nnics; i++) {
		if (vspd_net_add_spec(d.net, nics[i], err, sizeof(err))) {
			vspd_log(&d, "%s", err);
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/control.sock", d.dir);
	d.ctl = vspd_control_open(&d, path);
	if (!d.ctl)
		return 1;
	vspd_log(&d, "ready in %s (%u SCSI controller%s, disk I/O: %s)", d.dir,
		 vspd_storage_count(d.storage),
		 vspd_storage_count(d.storage) == 1 ? "" : "s",
		 vspd_storage_engine(d.storage));

	while (!d.stopping) {
		uint64_t next = vspd_partition_tick(&d);
		int r = loop_run_once(d.loop, next);

		if (r < 0) {
			vspd_log(&d, "event loop: %s", strerror(-r));
			break;
		}
	}
	vspd_partition_detach(&d, "hvis-vspd stopping");
	vspd_storage_destroy(d.storage);
	vspd_net_destroy(d.net);
	vspd_control_close(d.ctl);
	loop_del(d.loop, d.attach_fd);
	close(d.attach_fd);
	snprintf(path, sizeof(path), "%s/attach.sock", d.dir);
	unlink(path);
	loop_destroy(d.loop);
	close(sfd);
	vspd_log(&d, "stopped");
	return 0;
}
