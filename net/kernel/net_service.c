#include "net/kernel/net_service.h"

#include <string.h>

#include "drivers/e1000/e1000.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "hv/mm/kmem.h"
#include "lwip/dhcp.h"
#include "lwip/init.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "net/control/ctl_commands.h"
#include "net/kernel/control_listener.h"
#include "net/kernel/hw_entropy.h"
#include "hv/core/migrate.h"
#include "net/kernel/kernel_disk_ops.h"
#include "net/kernel/kernel_hv_ops.h"
#include "net/kernel/kernel_offload.h"
#include "net/kernel/migrate_link.h"
#include "net/kernel/net_options.h"
#include "net/kernel/offload_link.h"
#include "net/kernel/net_sink.h"
#include "net/kernel/peer_probe.h"
#include "net/lwip/e1000_netif.h"

#define RX_BUDGET        64
#define LINK_CHECK_MS    250
/* How long the caller may halt between polls: closely for a while after the last frame
 * (a peer's next segment or ACK is due within a round trip), then rarely. */
#define POLL_BUSY_NS     50000ull
#define POLL_QUIET_NS    2000000ull
#define BUSY_WINDOW_NS   20000000ull
#define MIGRATE_POLL_NS  1000000ull

static struct e1000 nic;
static struct netif netif;
static struct tls_identity identity;
static struct ctl_server server;
static struct ctl_commands commands;
static struct ctl_disk_commands disk_commands;
static struct net_options options;
static bool running, control_up, address_shown;
static uint32_t last_link_check;
static uint64_t last_traffic_ns;

static void show_address(struct netif *n)
{
    if (address_shown || ip4_addr_isany_val(*netif_ip4_addr(n)))
        return;
    address_shown = true;
    char ip[16];
    ip4addr_ntoa_r(netif_ip4_addr(n), ip, sizeof(ip));
    kprintf("net: ip %s\n", ip);
    peer_probe_network_up();
}

static void on_status(struct netif *n)
{
    show_address(n);
}

static const struct boot_module *find_module(const struct boot_info *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->module_count && i < BOOTINFO_MAX_MODS; i++)
        if (!strncmp(bi->modules[i].name, name, BOOTINFO_NAME_LEN))
            return &bi->modules[i];
    return NULL;
}

/* The host key: the manifest's identity-key module, or a new one from hardware entropy. */
static bool load_identity(const struct manifest_hypervisor *hv, const struct boot_info *bi)
{
    if (!hv->identity_key[0]) {
        int rc = tls_identity_generate(&identity, hw_entropy_fill, NULL);
        if (rc != TLS_OK)
            kprintf("control: not started: no host key: %s\n", tls_error_text(rc));
        return rc == TLS_OK;
    }
    const struct boot_module *m = find_module(bi, hv->identity_key);
    if (!m) {
        kprintf("control: not started: identity-key module '%s' was not loaded\n",
                hv->identity_key);
        return false;
    }
    int rc = tls_identity_load(&identity, phys_to_virt(m->base), m->length);
    if (rc != TLS_OK)
        kprintf("control: not started: identity-key '%s': %s\n", hv->identity_key,
                tls_error_text(rc));
    return rc == TLS_OK;
}

static void start_control(const struct manifest_hypervisor *hv, const struct boot_info *bi)
{
    if (!hw_entropy_source()) {
        kprintf("control: not started: this CPU has neither RDSEED nor RDRAND, so there is "
                "no entropy for TLS keys\n");
        return;
    }
    if (!load_identity(hv, bi))
        return;
    const uint8_t (*allowed)[TLS_FP_SIZE] = (const uint8_t(*)[TLS_FP_SIZE])hv->clients;
    /* 10 s for a handshake or the rest of a message: TLS on an emulated CPU is slow. */
    struct ctl_server_config cfg = { .allowed = allowed, .allowed_count = hv->client_count,
                                     .message_timeout_ms = 10000 };
    ctl_server_init(&server, &cfg);
    ctl_commands_register(&server, &commands, &kernel_hv_ops, NULL);
    kernel_offload_start(identity.fingerprint, allowed, hv->client_count);
    ctl_disk_register(&server, &disk_commands, &kernel_disk_ops, NULL);
    uint16_t port = hv->control_port ? hv->control_port : 7400;
    if (!control_listener_start(&server, &identity, allowed, hv->client_count, port)) {
        kprintf("control: not started: cannot listen on TCP port %u\n", port);
        return;
    }
    control_up = true;
    char hex[TLS_FP_HEX_SIZE];
    tls_fingerprint_hex(identity.fingerprint, hex);
    kprintf("control: listening on port %u, key fingerprint %s\n", port, hex);
    if (!hv->client_count)
        kprintf("control: no control-clients in the manifest: every client is refused\n");
    if (migrate_link_start(&identity, allowed, hv->client_count, port + MIGRATE_PORT_OFFSET))
        kprintf("migrate: listening on port %u for the hosts in control-clients\n",
                port + MIGRATE_PORT_OFFSET);
    else
        kprintf("migrate: not started: cannot listen on TCP port %u\n",
                port + MIGRATE_PORT_OFFSET);
    if (offload_link_start(&identity, port + OFFLOAD_LINK_PORT_OFFSET))
        kprintf("offload: link listening on port %u for grants\n",
                port + OFFLOAD_LINK_PORT_OFFSET);
}

static bool start_interface(const struct manifest_hypervisor *hv)
{
    ip4_addr_t ip, mask, gw;
    ip4_addr_set_u32(&ip, lwip_htonl(hv->net == NET_MODE_STATIC ? hv->ip : 0));
    ip4_addr_set_u32(&mask, lwip_htonl(hv->net == NET_MODE_STATIC ? hv->netmask : 0));
    ip4_addr_set_u32(&gw, lwip_htonl(hv->net == NET_MODE_STATIC ? hv->gateway : 0));
    lwip_init();
    if (!e1000_netif_add(&netif, &nic, &ip, &mask, &gw)) {
        kprintf("net: lwIP refused the interface\n");
        return false;
    }
    netif_set_status_callback(&netif, on_status);
    if (hv->net == NET_MODE_DHCP && dhcp_start(&netif) != ERR_OK) {
        kprintf("net: DHCP could not start\n");
        return false;
    }
    return true;
}

void net_service_start(const struct manifest_hypervisor *hv, const struct boot_info *bi)
{
    char err[128];
    if (hv->net == NET_MODE_NONE) {
        kprintf("net: off (manifest: net = none)\n");
        return;
    }
    net_options_parse(&options, bi->cmdline, err, sizeof(err));
    if (err[0])
        kprintf("net: %s (ignored)\n", err);
    if (e1000_probe(&nic, err, sizeof(err)) < 0) {
        kprintf("net: not started: %s\n", err);
        return;
    }
    const uint8_t *m = nic.mac;
    kprintf("net: e1000 at PCI %02x:%02x.%x mac %02x:%02x:%02x:%02x:%02x:%02x link %s\n",
            nic.pci.bus, nic.pci.dev, nic.pci.fn, m[0], m[1], m[2], m[3], m[4], m[5],
            e1000_link_up(&nic) ? "up" : "down");
    if (!start_interface(hv))
        return;
    running = true;
    start_control(hv, bi);
    if (options.sink && control_up)
        net_sink_start(&identity, (const uint8_t(*)[TLS_FP_SIZE])hv->clients, hv->client_count);
    peer_probe_start(&options, control_up ? &identity : NULL);
    show_address(&netif);
}

uint64_t net_service_poll(void)
{
    if (!running)
        return UINT64_MAX;
    uint64_t tx_before = nic.stats.tx_frames;
    unsigned received = e1000_netif_poll(&netif, RX_BUDGET);
    sys_check_timeouts();
    uint32_t now = sys_now();
    if (now - last_link_check >= LINK_CHECK_MS) {
        last_link_check = now;
        e1000_netif_track_link(&netif);
    }
    if (control_up)
        ctl_server_poll(&server, time_ns() / 1000000);
    peer_probe_poll();
    net_sink_poll();
    bool migrating = migrate_poll();
    if (offload_link_poll()) /* a grant served or a pull under way: keep polling closely */
        last_traffic_ns = time_ns();
    uint64_t now_ns = time_ns();
    if (migrating)          /* moves a share of the data each poll; the guest runs between */
        return MIGRATE_POLL_NS;
    if (received || nic.stats.tx_frames != tx_before) {
        last_traffic_ns = now_ns;
        return 0;
    }
    return now_ns - last_traffic_ns < BUSY_WINDOW_NS ? POLL_BUSY_NS : POLL_QUIET_NS;
}
