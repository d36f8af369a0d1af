#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/config/manifest.h"

static struct manifest m;
static char err[MANIFEST_ERR_LEN];

static int parse(const char *text)
{
    err[0] = 0;
    return manifest_parse(&m, text, strlen(text), "atoll.cfg", err, sizeof(err));
}

#define FP_A "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
#define FP_B "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static const char good[] =
    "# Atoll demo\n"
    "[hypervisor]\n"
    "exit-when-done = yes\n"
    "log-level=debug\n"
    "net = static\r\n"
    "ip = 10.0.2.15\n"
    "netmask = 255.255.255.0\n"
    "gateway = 10.0.2.2   # the QEMU host\n"
    "control-port = 7401\n"
    "control-clients = " FP_A " , " FP_B "\n"
    "identity-key = host.key\n"
    "\n"
    "[partition web]\n"
    "memory = 256M\n"
    "vcpus = 2\n"
    "cpus = 0,2-3\n"
    "image = vmlinuz\n"
    "boot = linux\n"
    "initrd = initrd.gz\n"
    "cmdline = console=ttyS0 root=/dev/vda rw\n"
    "disk = virtio-blk:/pool/web.vhdx\n"
    "disk = virtio-blk:/pool/data.vhdx\n"
    "vgpu = yes\n"
    "\t[partition vsp]   \n"
    "memory = 1G\n"
    "image = vsp.elf\n"
    "boot = elf64\n"
    "role = video-service\n"
    "console = none\n"
    "autostart = no\n"
    "net = none\n"
    "[partition t_1]\n"
    "memory=4096K\n"
    "image=hello.bin\n"
    "boot=flat\n"
    "cmdline = \"quoted # not a comment\"\n"
    "[script]\n"
    "on web prints \"READY # 1\" => snapshot web-snap  # comment\n"
    "on t_1 prints \"x\" => stop\n";

/* `iops` and `mbps` limit the disk line above them; a disk without them has none. */
static void disk_limits_test(void **state)
{
    assert_int_equal(parse("[partition a]\nmemory = 16M\nimage = a.bin\nboot = flat\n"
                           "disk = virtio-blk:one.vhdx\niops = 500\nmbps = 20\n"
                           "disk = virtio-blk:two.img\n"
                           "disk = virtio-blk:three.img\nmbps = 1\n"
                           "disk = virtio-blk:four.img\niops = 1000000\nmbps = 100000\n"), 0);
    const struct manifest_partition *a = &m.partitions[0];
    assert_int_equal(a->disk_count, 4);
    assert_int_equal(a->disk_iops[0], 500);
    assert_int_equal(a->disk_mbps[0], 20);
    assert_int_equal(a->disk_iops[1], 0);
    assert_int_equal(a->disk_mbps[1], 0);
    assert_int_equal(a->disk_iops[2], 0);
    assert_int_equal(a->disk_mbps[2], 1);
    assert_int_equal(a->disk_iops[3], 1000000);
    assert_int_equal(a->disk_mbps[3], 100000);
}

static void good_manifest_test(void **state)
{
    assert_int_equal(parse(good), 0);
    assert_true(m.hv.exit_when_done);
    assert_int_equal(m.hv.log_level, LOG_LEVEL_DEBUG);
    assert_int_equal(m.hv.net, NET_MODE_STATIC);
    assert_int_equal(m.hv.ip, 0x0a00020f);
    assert_int_equal(m.hv.netmask, 0xffffff00);
    assert_int_equal(m.hv.gateway, 0x0a000202);
    assert_int_equal(m.hv.control_port, 7401);
    assert_int_equal(m.hv.client_count, 2);
    assert_int_equal(m.hv.clients[0][0], 0x00);
    assert_int_equal(m.hv.clients[0][1], 0x11);
    assert_int_equal(m.hv.clients[0][31], 0xff);
    assert_int_equal(m.hv.clients[1][5], 0xff);
    assert_string_equal(m.hv.identity_key, "host.key");
    assert_int_equal(m.hv.identity_key_line, 11);

    assert_int_equal(m.partition_count, 3);
    const struct manifest_partition *web = &m.partitions[0];
    assert_string_equal(web->name, "web");
    assert_int_equal(web->line, 13);
    assert_int_equal(web->memory, 256ull << 20);
    assert_int_equal(web->memory_line, 14);
    assert_int_equal(web->vcpus, 2);
    assert_false(web->cpus_any);
    assert_int_equal(web->cpus[0], 0xd);
    assert_string_equal(web->image, "vmlinuz");
    assert_int_equal(web->image_line, 17);
    assert_int_equal(web->boot, BOOT_LINUX);
    assert_string_equal(web->initrd, "initrd.gz");
    assert_string_equal(web->cmdline, "console=ttyS0 root=/dev/vda rw");
    assert_int_equal(web->disk_count, 2);
    assert_string_equal(web->disks[0], "/pool/web.vhdx");
    assert_string_equal(web->disks[1], "/pool/data.vhdx");
    assert_int_equal(web->console, CONSOLE_SERIAL);
    assert_int_equal(web->role, ROLE_GUEST);
    assert_true(web->vgpu);
    assert_int_equal(web->vgpu_weight, 1);
    assert_true(web->autostart);

    const struct manifest_partition *vsp = manifest_find_partition(&m, "vsp");
    assert_non_null(vsp);
    assert_int_equal(vsp->memory, 1ull << 30);
    assert_int_equal(vsp->vcpus, 1);
    assert_true(vsp->cpus_any);
    assert_int_equal(vsp->boot, BOOT_ELF64);
    assert_int_equal(vsp->role, ROLE_VIDEO_SERVICE);
    assert_int_equal(vsp->console, CONSOLE_NONE);
    assert_false(vsp->autostart);

    const struct manifest_partition *t = manifest_find_partition(&m, "t_1");
    assert_int_equal(t->memory, 4ull << 20);
    assert_int_equal(t->boot, BOOT_FLAT);
    assert_string_equal(t->cmdline, "quoted # not a comment");
    assert_null(manifest_find_partition(&m, "nope"));

    assert_int_equal(m.rule_count, 2);
    assert_string_equal(m.rules[0].partition, "web");
    assert_string_equal(m.rules[0].text, "READY # 1");
    assert_string_equal(m.rules[0].action, "snapshot");
    assert_string_equal(m.rules[0].args, "web-snap");
    assert_int_equal(m.rules[0].line, 38);
    assert_string_equal(m.rules[1].action, "stop");
    assert_string_equal(m.rules[1].args, "");
}

static void defaults_test(void **state)
{
    assert_int_equal(parse(""), 0);
    assert_int_equal(m.partition_count, 0);
    assert_false(m.hv.exit_when_done);
    assert_int_equal(m.hv.log_level, LOG_LEVEL_INFO);
    assert_int_equal(m.hv.net, NET_MODE_NONE);
    assert_int_equal(m.hv.control_port, 7400);
    assert_int_equal(m.hv.client_count, 0);
    assert_int_equal(parse("# nothing\n\n   \n[hypervisor]\ncontrol-clients =\n"), 0);
    /* no final newline, sizes at the limits */
    assert_int_equal(parse("[partition a]\nmemory = 64G\nimage=a\nboot=multiboot"), 0);
    assert_int_equal(m.partitions[0].memory, 64ull << 30);
    assert_int_equal(m.partitions[0].boot, BOOT_MULTIBOOT);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nvcpus=64\ncpus=255\n"), 0);
    assert_int_equal(m.partitions[0].cpus[3], 1ull << 63);
    assert_int_equal(parse("[hypervisor]\nnet = dhcp\n"), 0);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\n"), 0);
    assert_int_equal(m.partitions[0].track_writes, 0);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\ntrack-writes = 512\n"), 0);
    assert_int_equal(m.partitions[0].track_writes, 512);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\ntrack-writes = 1\n"), 0);
    assert_int_equal(m.partitions[0].track_writes, 1);
    assert_int_equal(m.partitions[0].unassigned, UNASSIGNED_IGNORE);
    assert_int_equal(parse("[partition v]\nmemory = 1M\nimage=a\nboot=flat\nrole = video-service\n"
                           "[partition c]\nmemory = 1M\nimage=a\nboot=flat\nvgpu = yes\nvgpu-weight = 1000\n"), 0);
    assert_int_equal(m.partitions[0].role, ROLE_VIDEO_SERVICE);
    assert_int_equal(m.partitions[1].vgpu_weight, 1000);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nunassigned = kill\n"), 0);
    assert_int_equal(m.partitions[0].unassigned, UNASSIGNED_KILL);
}

static void on_reset_test(void **state)
{
    (void)state;
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\n"), 0);
    assert_int_equal(m.partitions[0].on_reset, ON_RESET_END);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\non-reset = end\n"), 0);
    assert_int_equal(m.partitions[0].on_reset, ON_RESET_END);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\non-reset = restart\n"), 0);
    assert_int_equal(m.partitions[0].on_reset, ON_RESET_RESTART);
}

static void debug_exit_test(void **state)
{
    (void)state;
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\n"), 0);
    assert_true(m.partitions[0].debug_exit);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\ndebug-exit = no\n"
                           "[partition b]\nmemory = 1M\nimage=a\nboot=flat\n"), 0);
    assert_false(m.partitions[0].debug_exit);
    assert_true(m.partitions[1].debug_exit);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\ndebug-exit = yes\n"), 0);
    assert_true(m.partitions[0].debug_exit);
}

static void vcpu_state_roundtrip_test(void **state)
{
    (void)state;
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\n"), 0);
    assert_int_equal(m.partitions[0].vcpu_state_roundtrip, 0);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nvcpu-state-roundtrip = yes\n"), 0);
    assert_int_equal(m.partitions[0].vcpu_state_roundtrip, 1);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nvcpu-state-roundtrip = no\n"), 0);
    assert_int_equal(m.partitions[0].vcpu_state_roundtrip, 0);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nvcpu-state-roundtrip = 7\n"), 0);
    assert_int_equal(m.partitions[0].vcpu_state_roundtrip, 7);
}

static void expect_test(void **state)
{
    (void)state;
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\n"), 0);
    assert_int_equal(m.partitions[0].expect_end, END_EXIT);
    assert_int_equal(m.partitions[0].expect_status, 1);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nexpect = killed\n"), 0);
    assert_int_equal(m.partitions[0].expect_end, END_KILLED);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nexpect = stopped\n"), 0);
    assert_int_equal(m.partitions[0].expect_end, END_STOPPED);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nexpect = exit 3\n"), 0);
    assert_int_equal(m.partitions[0].expect_end, END_EXIT);
    assert_int_equal(m.partitions[0].expect_status, 3);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nexpect = exit\n"), 0);
    assert_int_equal(m.partitions[0].expect_status, 1);
    assert_int_equal(parse("[partition a]\nmemory = 1M\nimage=a\nboot=flat\nexpect = exit 511\n"), 0);
    assert_int_equal(m.partitions[0].expect_status, 511);
}

struct bad_case {
    const char *text;
    const char *error;
};

#define PART "[partition a]\nmemory = 16M\nimage = a.bin\nboot = flat\n"

static const struct bad_case bad_cases[] = {
    /* structure */
    { "memory = 1M\n", "atoll.cfg:1: memory: key outside a section" },
    { "[hypervisor]\nthis is not a key\n", "atoll.cfg:2: syntax: expected 'key = value' (keys are a-z 0-9 -)" },
    { "[hypervisor]\n= yes\n", "atoll.cfg:2: syntax: expected 'key = value' (keys are a-z 0-9 -)" },
    { "[hypervisor]\nLog-Level = info\n", "atoll.cfg:2: syntax: expected 'key = value' (keys are a-z 0-9 -)" },
    { "[hypervisor\n", "atoll.cfg:1: section: expected [kind] or [kind NAME]" },
    { "[vm x]\n", "atoll.cfg:1: section: unknown section [vm] (expected hypervisor, partition or script)" },
    { "[hypervisor]\n[hypervisor]\n", "atoll.cfg:2: hypervisor: a second [hypervisor] section (first at line 1)" },
    { "[hypervisor main]\n", "atoll.cfg:1: hypervisor: [hypervisor] takes no name" },
    { "[script]\n[script]\n", "atoll.cfg:2: script: a second [script] section (first at line 1)" },
    { "[hypervisor]\nlog-level = info\nfoo = 1\n", "atoll.cfg:3: foo: unknown key in [hypervisor]" },
    { PART "memroy = 1M\n", "atoll.cfg:5: memroy: unknown key in [partition] (did you mean 'memory'?)" },
    { PART "vcpu = 2\n", "atoll.cfg:5: vcpu: unknown key in [partition] (did you mean 'vcpus'?)" },
    { "[hypervisor]\ncontrol-prot = 7400\n", "atoll.cfg:2: control-prot: unknown key in [hypervisor] (did you mean 'control-port'?)" },
    { PART "mem = 1M\n", "atoll.cfg:5: mem: unknown key in [partition] (did you mean 'memory'?)" },
    { PART "cpu = 1\n", "atoll.cfg:5: cpu: unknown key in [partition] (did you mean 'cpus'?)" },
    { PART "abc = 1\n", "atoll.cfg:5: abc: unknown key in [partition]" },
    { PART "x = 1\n", "atoll.cfg:5: x: unknown key in [partition]" },
    { "[hypervisor]\nlog-level = info\n\nlog-level = warn\n", "atoll.cfg:4: log-level: set twice (first at line 2)" },
    { PART "boot = linux\n", "atoll.cfg:5: boot: set twice (first at line 4)" },
    { "[hypervisor]\nlog-level = \"info\n", "atoll.cfg:2: syntax: unterminated quote" },
    { "[hypervisor]\nlog-level = in\x01" "fo\n", "atoll.cfg:2: file: control character 0x01" },
    { "[hypervisor]\n\rlog-level = info\n", "atoll.cfg:2: file: control character 0x0d" },
    /* partitions */
    { "[partition]\n", "atoll.cfg:1: partition: name '' is not 1 to 31 of a-z 0-9 _ -" },
    { "[partition Web]\n", "atoll.cfg:1: partition: name 'Web' is not 1 to 31 of a-z 0-9 _ -" },
    { "[partition a b]\n", "atoll.cfg:1: partition: name 'a b' is not 1 to 31 of a-z 0-9 _ -" },
    { "[partition abcdefghijabcdefghijabcdefghijab]\n", "atoll.cfg:1: partition: name 'abcdefghijabcdefghijabcdefghijab' is not 1 to 31 of a-z 0-9 _ -" },
    { PART PART, "atoll.cfg:5: partition: 'a' defined twice (first at line 1)" },
    { "[partition a]\nimage = a\nboot = flat\n[partition b]\n", "atoll.cfg:1: memory: required in [partition a]" },
    { "[partition a]\nmemory = 1M\nboot = flat\n", "atoll.cfg:1: image: required in [partition a]" },
    { "[partition a]\nmemory = 1M\nimage = x\n", "atoll.cfg:1: boot: required in [partition a]" },
    { PART "initrd = i.gz\n", "atoll.cfg:5: initrd: only with boot = linux" },
    /* sizes */
    { PART "[partition b]\nmemory = 16\n", "atoll.cfg:6: memory: '16' is not a size (a number followed by K, M or G)" },
    { PART "[partition b]\nmemory = 16m\n", "atoll.cfg:6: memory: '16m' is not a size (a number followed by K, M or G)" },
    { PART "[partition b]\nmemory = M\n", "atoll.cfg:6: memory: 'M' is not a size (a number followed by K, M or G)" },
    { PART "[partition b]\nmemory = -1M\n", "atoll.cfg:6: memory: '-1M' is not a size (a number followed by K, M or G)" },
    { PART "[partition b]\nmemory = 1.5G\n", "atoll.cfg:6: memory: '1.5G' is not a size (a number followed by K, M or G)" },
    { PART "[partition b]\nmemory = 99999999999999999999G\n", "atoll.cfg:6: memory: '99999999999999999999G' is not a size (a number followed by K, M or G)" },
    { PART "[partition b]\nmemory = 17179869184G\n", "atoll.cfg:6: memory: '17179869184G' is not a size (a number followed by K, M or G)" },
    { PART "[partition b]\nmemory = 1026K\n", "atoll.cfg:6: memory: 1026K is not a multiple of 4K" },
    { PART "[partition b]\nmemory = 1020K\n", "atoll.cfg:6: memory: 1020K is outside 1M to 64G" },
    { PART "[partition b]\nmemory = 65G\n", "atoll.cfg:6: memory: 65G is outside 1M to 64G" },
    { PART "[partition b]\nmemory =\n", "atoll.cfg:6: memory: '' is not a size (a number followed by K, M or G)" },
    /* vcpus, cpus */
    { PART "vcpus = 0\n", "atoll.cfg:5: vcpus: '0' is not a number from 1 to 64" },
    { PART "vcpus = 65\n", "atoll.cfg:5: vcpus: '65' is not a number from 1 to 64" },
    { PART "vcpus = two\n", "atoll.cfg:5: vcpus: 'two' is not a number from 1 to 64" },
    { PART "cpus = 0,,1\n", "atoll.cfg:5: cpus: '' is not a cpu or a range like 2-3" },
    { PART "cpus = 3-1\n", "atoll.cfg:5: cpus: range 3-1 runs backwards" },
    { PART "cpus = 1-\n", "atoll.cfg:5: cpus: '1-' is not a cpu or a range like 2-3" },
    { PART "cpus = 1-2-3\n", "atoll.cfg:5: cpus: '2-3' is not a cpu number" },
    { PART "cpus = 256\n", "atoll.cfg:5: cpus: cpu 256 is not below 256" },
    { PART "cpus = all\n", "atoll.cfg:5: cpus: 'all' is not a cpu number" },
    { PART "cpus =\n", "atoll.cfg:5: cpus: '' is not a cpu or a range like 2-3" },
    /* names, enums */
    { PART "[partition b]\nimage = ../etc/passwd\n", "atoll.cfg:6: image: '../etc/passwd' is not a file name (1 to 63 of A-Z a-z 0-9 . _ -)" },
    { PART "[partition b]\nimage = a b\n", "atoll.cfg:6: image: 'a b' is not a file name (1 to 63 of A-Z a-z 0-9 . _ -)" },
    { PART "[partition b]\nimage =\n", "atoll.cfg:6: image: '' is not a file name (1 to 63 of A-Z a-z 0-9 . _ -)" },
    { PART "[partition b]\nboot = bios\n", "atoll.cfg:6: boot: 'bios' is not one of: flat, multiboot, elf64, linux" },
    { PART "console = vga\n", "atoll.cfg:5: console: 'vga' is not one of: serial, none" },
    { PART "net = e1000\n", "atoll.cfg:5: net: 'e1000' is not one of: none" },
    { PART "role = host\n", "atoll.cfg:5: role: 'host' is not one of: guest, video-service" },
    { PART "vgpu = true\n", "atoll.cfg:5: vgpu: 'true' is not one of: no, yes" },
    { PART "autostart = 1\n", "atoll.cfg:5: autostart: '1' is not one of: no, yes" },
    { PART "debug-exit = off\n", "atoll.cfg:5: debug-exit: 'off' is not one of: no, yes" },
    { PART "debug-exit = no\ndebug-exit = no\n", "atoll.cfg:6: debug-exit: set twice (first at line 5)" },
    { PART "disk = ide:/a\n", "atoll.cfg:5: disk: 'ide:/a' is not virtio-blk:POOLPATH" },
    { PART "disk = virtio-blk:\n", "atoll.cfg:5: disk: 'virtio-blk:' is not virtio-blk:POOLPATH" },
    { PART "disk = virtio-blk:/a b\n", "atoll.cfg:5: disk: 'virtio-blk:/a b' is not virtio-blk:POOLPATH" },
    { PART "disk=virtio-blk:a\ndisk=virtio-blk:a\ndisk=virtio-blk:a\ndisk=virtio-blk:a\n"
           "disk=virtio-blk:a\ndisk=virtio-blk:a\ndisk=virtio-blk:a\ndisk=virtio-blk:a\n"
           "disk=virtio-blk:a\n", "atoll.cfg:13: disk: more than 8 disks" },
    { PART "iops = 100\n", "atoll.cfg:5: iops: no disk line above it (it limits the disk declared just before)" },
    { PART "mbps = 4\ndisk = virtio-blk:a\n", "atoll.cfg:5: mbps: no disk line above it (it limits the disk declared just before)" },
    { PART "disk = virtio-blk:a\niops = 0\n", "atoll.cfg:6: iops: '0' is not a whole number from 1 to 1000000 (operations per second; leave the key out for no limit)" },
    { PART "disk = virtio-blk:a\niops = 1000001\n", "atoll.cfg:6: iops: '1000001' is not a whole number from 1 to 1000000 (operations per second; leave the key out for no limit)" },
    { PART "disk = virtio-blk:a\nmbps = 2.5\n", "atoll.cfg:6: mbps: '2.5' is not a whole number from 1 to 100000 (MiB per second; leave the key out for no limit)" },
    { PART "disk = virtio-blk:a\nmbps = 100001\n", "atoll.cfg:6: mbps: '100001' is not a whole number from 1 to 100000 (MiB per second; leave the key out for no limit)" },
    { PART "disk = virtio-blk:a\nmbps = -1\n", "atoll.cfg:6: mbps: '-1' is not a whole number from 1 to 100000 (MiB per second; leave the key out for no limit)" },
    { PART "disk = virtio-blk:a\nmbps =\n", "atoll.cfg:6: mbps: '' is not a whole number from 1 to 100000 (MiB per second; leave the key out for no limit)" },
    { PART "disk = virtio-blk:a\niops = 5\niops = 6\n", "atoll.cfg:7: iops: set twice for disk virtio-blk:a" },
    { PART "[partition v1]\nmemory=1M\nimage=v\nboot=flat\nrole=video-service\n"
           "[partition v2]\nmemory=1M\nimage=v\nboot=flat\nrole=video-service\n",
      "atoll.cfg:14: role: a second video-service partition (the first is 'v1')" },
    { PART "vgpu = yes\n", "atoll.cfg:5: vgpu: no partition has role = video-service" },
    { PART "role = video-service\nvgpu = yes\n", "atoll.cfg:6: vgpu: the video-service partition cannot be a vGPU client" },
    { PART "vgpu-weight = 0\n", "atoll.cfg:5: vgpu-weight: '0' is not a number from 1 to 1000" },
    { PART "vgpu-weight = 1001\n", "atoll.cfg:5: vgpu-weight: '1001' is not a number from 1 to 1000" },
    { PART "vgpu-weight = 2\n", "atoll.cfg:5: vgpu-weight: only a vGPU client (vgpu = yes) has a weight" },
    /* hypervisor */
    { "[hypervisor]\nexit-when-done = maybe\n", "atoll.cfg:2: exit-when-done: 'maybe' is not one of: no, yes" },
    { "[hypervisor]\nlog-level = trace\n", "atoll.cfg:2: log-level: 'trace' is not one of: error, warn, info, debug" },
    { "[hypervisor]\nnet = wifi\n", "atoll.cfg:2: net: 'wifi' is not one of: none, dhcp, static" },
    { "[hypervisor]\nnet = static\nip = 10.0.2.256\n", "atoll.cfg:3: ip: '10.0.2.256' is not a dotted quad like 10.0.2.15" },
    { "[hypervisor]\nnet = static\nip = 10.0.2\n", "atoll.cfg:3: ip: '10.0.2' is not a dotted quad like 10.0.2.15" },
    { "[hypervisor]\nnet = static\nip = 10.0.2.1.5\n", "atoll.cfg:3: ip: '10.0.2.1.5' is not a dotted quad like 10.0.2.15" },
    { "[hypervisor]\nnet = static\nip = 10..2.1\n", "atoll.cfg:3: ip: '10..2.1' is not a dotted quad like 10.0.2.15" },
    { "[hypervisor]\nnet = static\nip = 0010.0.2.1\n", "atoll.cfg:3: ip: '0010.0.2.1' is not a dotted quad like 10.0.2.15" },
    { "[hypervisor]\nnet = static\nip = 10.0.2.15\n", "atoll.cfg:1: netmask: required with net = static" },
    { "[hypervisor]\nnet = static\nnetmask = 255.0.0.0\n", "atoll.cfg:1: ip: required with net = static" },
    { "[hypervisor]\nnet = dhcp\ngateway = 10.0.2.2\n", "atoll.cfg:3: gateway: only with net = static" },
    { "[hypervisor]\nip = 10.0.2.2\n" PART, "atoll.cfg:2: ip: only with net = static" },
    { "[hypervisor]\ncontrol-port = 0\n", "atoll.cfg:2: control-port: '0' is not a port from 1 to 65535" },
    { "[hypervisor]\ncontrol-port = 65536\n", "atoll.cfg:2: control-port: '65536' is not a port from 1 to 65535" },
    { "[hypervisor]\ncontrol-clients = abc\n", "atoll.cfg:2: control-clients: 'abc' is not a SHA-256 fingerprint (64 hex digits)" },
    { "[hypervisor]\ncontrol-clients = " FP_A ",\n", "atoll.cfg:2: control-clients: '' is not a SHA-256 fingerprint (64 hex digits)" },
    { "[hypervisor]\ncontrol-clients = " FP_A "," FP_A "," FP_A "," FP_A "," FP_A "," FP_A ","
      FP_A "," FP_A "," FP_A "\n", "atoll.cfg:2: control-clients: more than 8 clients" },
    { "[hypervisor]\nidentity-key = /key\n", "atoll.cfg:2: identity-key: '/key' is not a file name (1 to 63 of A-Z a-z 0-9 . _ -)" },
    { PART "on-reset = reboot\n", "atoll.cfg:5: on-reset: 'reboot' is not one of: end, restart" },
    { PART "expect = exit3\n", "atoll.cfg:5: expect: 'exit3' is not one of: exit, exit STATUS (0-511), killed, stopped" },
    { PART "expect = exit 512\n", "atoll.cfg:5: expect: 'exit 512' is not one of: exit, exit STATUS (0-511), killed, stopped" },
    { PART "expect = exit -1\n", "atoll.cfg:5: expect: 'exit -1' is not one of: exit, exit STATUS (0-511), killed, stopped" },
    { PART "expect = dead\n", "atoll.cfg:5: expect: 'dead' is not one of: exit, exit STATUS (0-511), killed, stopped" },
    { PART "track-writes = 0\n", "atoll.cfg:5: track-writes: '0' is not a power of two from 1 to 512 (pages per group)" },
    { PART "track-writes = 24\n", "atoll.cfg:5: track-writes: '24' is not a power of two from 1 to 512 (pages per group)" },
    { PART "track-writes = 1024\n", "atoll.cfg:5: track-writes: '1024' is not a power of two from 1 to 512 (pages per group)" },
    { PART "unassigned = panic\n", "atoll.cfg:5: unassigned: 'panic' is not one of: ignore, kill" },
    { PART "vcpu-state-roundtrip = 0\n", "atoll.cfg:5: vcpu-state-roundtrip: '0' is not yes, no or a number of exits from 1 to 1000000" },
    { PART "vcpu-state-roundtrip = 1000001\n", "atoll.cfg:5: vcpu-state-roundtrip: '1000001' is not yes, no or a number of exits from 1 to 1000000" },
    /* script */
    { PART "[script]\nwhen a prints \"x\" => stop\n", "atoll.cfg:6: script: expected: on PARTITION prints \"TEXT\" => ACTION [ARGS]" },
    { PART "[script]\non a says \"x\" => stop\n", "atoll.cfg:6: script: expected: on PARTITION prints \"TEXT\" => ACTION [ARGS]" },
    { PART "[script]\non a prints x => stop\n", "atoll.cfg:6: script: expected: on PARTITION prints \"TEXT\" => ACTION [ARGS]" },
    { PART "[script]\non a prints \"x\" stop\n", "atoll.cfg:6: script: expected: on PARTITION prints \"TEXT\" => ACTION [ARGS]" },
    { PART "[script]\non a prints \"x => stop\n", "atoll.cfg:6: script: unterminated quote" },
    { PART "[script]\non a prints \"\" => stop\n", "atoll.cfg:6: script: text must be 1 to 127 bytes" },
    { PART "[script]\non a prints \"x\" => explode\n", "atoll.cfg:6: script: 'explode' is not one of: snapshot, restore, migrate, stop, start, compare, checkpoint, disk, capture" },
    { PART "[script]\non A prints \"x\" => stop\n", "atoll.cfg:6: script: 'A' is not a partition name" },
    { PART "[script]\non b prints \"x\" => stop\n", "atoll.cfg:6: script: no partition 'b'" },
    /* a restore's new name counts only after the rule that makes it */
    { PART "[script]\non b prints \"x\" => stop\non a prints \"y\" => restore f.snp as b\n",
      "atoll.cfg:6: script: no partition 'b'" },
    { PART "[script]\non a prints \"y\" => restore f.snp\non b prints \"x\" => stop\n",
      "atoll.cfg:7: script: no partition 'b'" },
};

/* A rule may watch a partition an earlier rule restores under a new name. */
static void restored_partition_rules_test(void **state)
{
    (void)state;
    assert_int_equal(parse(PART "[script]\non a prints \"x\" => restore f.snp as b lazy\n"
                                "on b prints \"y\" => restore f.snp as c\n"
                                "on c prints \"z\" => stop c\n"), 0);
}

static void bad_manifests_test(void **state)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        int rc = parse(bad_cases[i].text);
        if (rc != -1 || strcmp(err, bad_cases[i].error) != 0)
            fail_msg("case %zu: rc %d\n  got:    %s\n  wanted: %s", i, rc, err, bad_cases[i].error);
    }
}

static void limits_test(void **state)
{
    static char text[MANIFEST_MAX_BYTES + 2];
    size_t n = 0;
    for (int i = 0; i <= MANIFEST_MAX_PARTITIONS; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n,
                              "[partition p%d]\nmemory=1M\nimage=x\nboot=flat\n", i);
    assert_int_equal(parse(text), -1);
    assert_string_equal(err, "atoll.cfg:65: partition: more than 16 partitions");

    n = (size_t)snprintf(text, sizeof(text), PART "[script]\n");
    for (int i = 0; i <= MANIFEST_MAX_RULES; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "on a prints \"%d\" => stop\n", i);
    assert_int_equal(parse(text), -1);
    assert_string_equal(err, "atoll.cfg:38: script: more than 32 rules");

    memset(text, '#', sizeof(text));
    assert_int_equal(manifest_parse(&m, text, MANIFEST_MAX_BYTES, "atoll.cfg", err, sizeof(err)), 0);
    assert_int_equal(manifest_parse(&m, text, MANIFEST_MAX_BYTES + 1, "atoll.cfg", err, sizeof(err)), -1);
    assert_string_equal(err, "atoll.cfg:1: file: 65537 bytes, more than 65536");

    char cmd[400];
    snprintf(cmd, sizeof(cmd), PART "cmdline = %0256d\n", 0);
    assert_int_equal(parse(cmd), -1);
    assert_string_equal(err, "atoll.cfg:5: cmdline: 256 bytes, more than 255");

    /* an embedded NUL is a control character, not the end of the text */
    static const char nul[] = "[hypervisor]\nlog-level = info\0junk\n";
    assert_int_equal(manifest_parse(&m, nul, sizeof(nul) - 1, "x.cfg", err, sizeof(err)), -1);
    assert_string_equal(err, "x.cfg:2: file: control character 0x00");

    /* a short error buffer truncates the message but stays terminated */
    char small[16];
    assert_int_equal(manifest_parse(&m, "x = 1\n", 6, "atoll.cfg", small, sizeof(small)), -1);
    assert_string_equal(small, "atoll.cfg:1: x:");
}

static void check_modules_test(void **state)
{
    assert_int_equal(parse(good), 0);
    struct boot_module mods[] = {
        { 0x200000, 100, "atoll.cfg" }, { 0x300000, 100, "vmlinuz" },
        { 0x400000, 100, "initrd.gz" }, { 0x500000, 100, "vsp.elf" },
        { 0x600000, 100, "hello.bin" }, { 0x700000, 100, "host.key" },
    };
    assert_int_equal(manifest_check_modules(&m, mods, 6, "atoll.cfg", err, sizeof(err)), 0);
    assert_int_equal(manifest_check_modules(&m, mods, 5, "atoll.cfg", err, sizeof(err)), -1);
    assert_string_equal(err, "atoll.cfg:11: identity-key: module 'host.key' was not loaded");
    mods[4] = mods[5];
    assert_int_equal(manifest_check_modules(&m, mods, 5, "atoll.cfg", err, sizeof(err)), -1);
    assert_string_equal(err, "atoll.cfg:34: image: module 'hello.bin' was not loaded");
    mods[2] = mods[4];
    assert_int_equal(manifest_check_modules(&m, mods, 5, "atoll.cfg", err, sizeof(err)), -1);
    assert_string_equal(err, "atoll.cfg:19: initrd: module 'initrd.gz' was not loaded");
    assert_int_equal(manifest_check_modules(&m, NULL, 0, "atoll.cfg", err, sizeof(err)), -1);
    assert_string_equal(err, "atoll.cfg:11: identity-key: module 'host.key' was not loaded");
}

static void check_memory_test(void **state)
{
    assert_int_equal(parse(good), 0); /* 256M + 1G + 4M */
    uint64_t need = (256ull + 1024 + 4) << 20;
    assert_int_equal(manifest_check_memory(&m, need, "atoll.cfg", err, sizeof(err)), 0);
    assert_int_equal(manifest_check_memory(&m, need - 1, "atoll.cfg", err, sizeof(err)), -1);
    assert_string_equal(err, "atoll.cfg:33: memory: partitions need 1284 MiB, only 1283 MiB free");
    assert_int_equal(manifest_check_memory(&m, 100ull << 20, "atoll.cfg", err, sizeof(err)), -1);
    assert_string_equal(err, "atoll.cfg:14: memory: partitions need 1284 MiB, only 100 MiB free");
    assert_int_equal(parse(""), 0);
    assert_int_equal(manifest_check_memory(&m, 0, "atoll.cfg", err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_manifest_test),
        cmocka_unit_test(disk_limits_test),
        cmocka_unit_test(defaults_test),
        cmocka_unit_test(expect_test),
        cmocka_unit_test(on_reset_test),
        cmocka_unit_test(vcpu_state_roundtrip_test),
        cmocka_unit_test(debug_exit_test),
        cmocka_unit_test(bad_manifests_test),
        cmocka_unit_test(restored_partition_rules_test),
        cmocka_unit_test(limits_test),
        cmocka_unit_test(check_modules_test),
        cmocka_unit_test(check_memory_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
